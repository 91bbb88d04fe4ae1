package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "update", summary: "Update configuration of one or more boxes", errCode: 1, run: updateVerb})
}

func updateVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("update", "update [OPTIONS] BOX [BOX...]", "Update configuration of one or more boxes")
	cpus := fs.String("cpus", "", "Number of CPUs (a fraction caps the VM's CPU time)")
	memory := fs.StringP("memory", "m", "", "Memory of the box's VM (e.g. 256m, 1g)")
	fs.String("memory-swap", "", "Accepted and ignored: a box's VM has no swap")
	restart := fs.String("restart", "", "Restart policy to apply when a box exits")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "update", 1); err != nil {
		return err
	}
	ch, err := updateChanges(fs.Changed, *cpus, *memory, *restart)
	if err != nil {
		return err
	}
	swap := fs.Changed("memory-swap")
	if ch == (runtime.Changes{}) && !swap {
		return errors.New("you must provide one or more flags when using this command")
	}
	if swap {
		fmt.Fprintln(c.stderr, "a3s-box: --memory-swap is ignored: a box's VM has no swap")
	}
	// Refused values are refused once, before any box changes.
	if err := ch.Check(); err != nil {
		return err
	}
	return c.eachBox(ctx, fs.Args(), true, func(rt *runtime.Runtime, b *runtime.Box) error {
		// An update is an edit of the desired state too, as stop is.
		notes, err := engine.Update(ctx, rt, reconcile.NewStore(rt.Root()), b, ch)
		for _, n := range notes {
			fmt.Fprintf(c.stderr, "a3s-box: %s\n", n)
		}
		return err
	})
}

// updateChanges reads update's flags; changed says which the user gave.
func updateChanges(changed func(string) bool, cpus, memory, restart string) (runtime.Changes, error) {
	var ch runtime.Changes
	if changed("cpus") {
		v, err := strconv.ParseFloat(cpus, 64)
		if err != nil {
			return ch, fmt.Errorf("invalid argument %q for \"--cpus\" flag: not a number", cpus)
		}
		ch.CPUs = &v
	}
	if changed("memory") {
		n, err := spec.ParseBytes(memory)
		if err != nil {
			return ch, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", memory, err)
		}
		ch.Memory = &n
	}
	if changed("restart") {
		p, err := spec.ParseRestartPolicy(restart)
		if err != nil {
			return ch, err
		}
		ch.Restart = &p
	}
	return ch, nil
}
