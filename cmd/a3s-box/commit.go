package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/a3s-box/a3s-box/runtime"
)

func init() {
	register(&verb{name: "commit", summary: "Create a new image from a box's changes", errCode: 1, run: commitVerb})
}

func commitVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("commit", "commit [OPTIONS] BOX [REPOSITORY[:TAG]]", "Create a new image from a box's changes")
	author := fs.StringP("author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	changes := fs.StringArrayP("change", "c", nil, "Apply Dockerfile instruction to the created image")
	message := fs.StringP("message", "m", "", "Commit message")
	pause := fs.BoolP("pause", "p", true, "Pause the box's processes during commit")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "commit", 1); err != nil {
		return err
	}
	if fs.NArg() > 2 {
		return errors.New("'a3s-box commit' requires at most 2 arguments.\nSee 'a3s-box commit --help'")
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	img, err := eng.Commit(ctx, b, runtime.CommitOptions{
		Ref: fs.Arg(1), Author: *author, Message: *message, Changes: *changes, Pause: *pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, img.ID)
	return nil
}
