package main

import (
	"context"
	"fmt"

	"github.com/a3s-box/a3s-box/runtime/image"
)

func init() {
	register(&verb{name: "rmi", summary: "Remove one or more images", errCode: 1, run: rmiVerb})
	register(&verb{name: "tag", summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", errCode: 1, run: tagVerb})
}

func rmiVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("rmi", "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images")
	force := fs.BoolP("force", "f", false, "Force removal of the image")
	fs.Bool("no-prune", false, "Do not delete untagged parents (a3s-box images have none)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "rmi", 1); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range fs.Args() {
		rm, err := s.Remove(ctx, name, *force)
		if err != nil {
			c.printError(noSuchImage(err, name))
			failed = true
			continue
		}
		printRemoval(c, rm, "Untagged: ", "Deleted: ")
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}

// printRemoval lists what was untagged and deleted, Docker's way.
func printRemoval(c *cli, rm *image.Removal, untagged, deleted string) {
	for _, r := range rm.Untagged {
		fmt.Fprintf(c.stdout, "%s%s\n", untagged, image.Familiar(r))
	}
	for _, d := range rm.Deleted {
		fmt.Fprintf(c.stdout, "%s%s\n", deleted, d)
	}
}

func tagVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("tag", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "tag", 2); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	return noSuchImage(s.Tag(ctx, fs.Arg(0), fs.Arg(1)), fs.Arg(0))
}
