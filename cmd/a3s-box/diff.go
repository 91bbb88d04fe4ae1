package main

import (
	"context"
	"fmt"
)

func init() {
	register(&verb{name: "diff", summary: "Inspect changes to files or directories on a box's filesystem", errCode: 1, run: diffVerb})
}

func diffVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("diff", "diff BOX", "Inspect changes to files or directories on a box's filesystem")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "diff", 1); err != nil {
		return err
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	changes, err := eng.Diff(ctx, b)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		fmt.Fprintf(c.stdout, "%s %s\n", ch.Kind, termText(ch.Path))
	}
	return nil
}
