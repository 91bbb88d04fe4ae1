package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	register(&verb{name: "top", summary: "Display the running processes of a box", errCode: 1, run: topVerb})
}

func topVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("top", "top BOX [ps OPTIONS]", "Display the running processes of a box")
	// Everything after BOX is ps's.
	fs.SetInterspersed(false)
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "top", 1); err != nil {
		return err
	}
	ps, err := parsePSOptions(fs.Args()[1:])
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	ref := fs.Arg(0)
	eng, b, err := c.oneBox(ctx, ref)
	if err != nil {
		return err
	}
	if !b.State.Running() {
		return fmt.Errorf("box %s is not running", ref)
	}
	t, err := eng.Top(ctx, b)
	if err != nil {
		return err
	}
	titles, rows := ps.render(t, time.Now())
	return writeTop(c.stdout, titles, rows, ps.noHeader)
}

// writeTop prints top's table as Docker does: columns at least 20 wide.
func writeTop(w io.Writer, titles []string, rows [][]string, noHeader bool) error {
	tw := tabwriter.NewWriter(w, 20, 1, 3, ' ', 0)
	if !noHeader {
		fmt.Fprintln(tw, strings.Join(titles, "\t"))
	}
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = termText(c) // the guest's process names and arguments
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
