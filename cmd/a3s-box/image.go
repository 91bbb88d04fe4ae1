package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
)

func init() {
	register(&verb{name: "image", summary: "Manage images", errCode: 1, run: imageVerb})
}

// imageSubcommands are Docker's `image` subcommands; each runs the same
// function as its top-level spelling.
var imageSubcommands = map[string]subcommand{
	"ls":      {imagesVerb, "List images"},
	"list":    {imagesVerb, ""},
	"pull":    {pullVerb, "Download an image from a registry"},
	"push":    {pushVerb, "Upload an image to a registry"},
	"rm":      {rmiVerb, "Remove one or more images"},
	"remove":  {rmiVerb, ""},
	"tag":     {tagVerb, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
	"inspect": {imageInspectVerb, "Display detailed information on one or more images"},
	"history": {historyVerb, "Show the history of an image"},
	"prune":   {imagePruneVerb, "Remove unused images"},
	"save":    {saveVerb, "Save one or more images to a tar archive"},
	"load":    {loadVerb, "Load an image from a tar archive or STDIN"},
	"import":  {importVerb, "Import the contents from a tarball to create a filesystem image"},
}

func imageVerb(ctx context.Context, c *cli, args []string) error {
	return c.dispatch(ctx, "image", "Manage images", imageSubcommands, args)
}

// subcommand is one of a verb's subcommands (image ls, network create);
// those without a summary are other spellings, left out of the usage.
type subcommand struct {
	run     func(ctx context.Context, c *cli, args []string) error
	summary string
}

// dispatch runs the subcommand args name, or prints the verb's usage.
func (c *cli) dispatch(ctx context.Context, verb, summary string, subs map[string]subcommand, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintf(c.stdout, "Usage:  a3s-box %s COMMAND\n\n%s\n\nCommands:\n", verb, summary)
		var names []string
		width := 10
		for n, s := range subs {
			if s.summary != "" {
				names = append(names, n)
				width = max(width, len(n)+1)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(c.stdout, "  %-*s %s\n", width, n, subs[n].summary)
		}
		fmt.Fprintf(c.stdout, "\nRun 'a3s-box %s COMMAND --help' for more information on a command.\n", verb)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("'%s' is not an a3s-box %s command.\nSee 'a3s-box %s --help'", args[0], verb, verb)
	}
	return sub.run(ctx, c, args[1:])
}

// images opens the image store alone: image verbs boot nothing.
func (c *cli) images() (*image.Store, *runtime.Config, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, nil, err
	}
	s, err := runtime.OpenImages(cfg)
	if err != nil {
		return nil, nil, err
	}
	return s, cfg, nil
}

// needArgs is Docker's complaint about a missing argument.
func needArgs(fs interface{ NArg() int }, name string, min int) error {
	if fs.NArg() >= min {
		return nil
	}
	what := "argument"
	if min > 1 {
		what = "arguments"
	}
	return fmt.Errorf("'a3s-box %s' requires at least %d %s.\nSee 'a3s-box %s --help'", name, min, what, name)
}

// exactArgs is Docker's complaint about the wrong number of arguments.
func exactArgs(fs interface{ NArg() int }, name string, n int) error {
	if fs.NArg() == n {
		return nil
	}
	what := "argument"
	if n > 1 {
		what = "arguments"
	}
	return fmt.Errorf("'a3s-box %s' requires exactly %d %s.\nSee 'a3s-box %s --help'", name, n, what, name)
}

// noSuchImage rewords a lookup miss as Docker does.
func noSuchImage(err error, name string) error {
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("No such image: %s", name)
	}
	return err
}

// shortOrFull is an ID as listings show it: 12 hex digits, or the whole
// digest with --no-trunc.
func shortOrFull(id string, noTrunc bool) string {
	if noTrunc {
		return id
	}
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
