package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
)

func init() {
	register(&verb{name: "container", summary: "Manage boxes (Docker's 'container' spellings)", errCode: 1, run: containerVerb})
	// Only `container prune` reaches it: Docker has no top-level prune.
	register(&verb{name: "container prune", summary: "Remove all stopped boxes", errCode: 1, run: containerPruneVerb, hidden: true})
}

// containerSpellings maps `container SUB` onto the top-level verbs.
var containerSpellings = map[string]string{
	"ls": "ps", "list": "ps", "ps": "ps", "create": "create", "run": "run", "start": "start",
	"stop": "stop", "restart": "restart", "kill": "kill", "pause": "pause", "unpause": "unpause",
	"rm": "rm", "remove": "rm", "wait": "wait", "rename": "rename", "inspect": "inspect",
	"logs": "logs", "attach": "attach", "exec": "exec", "top": "top", "stats": "stats",
	"cp": "cp", "port": "port", "update": "update", "diff": "diff", "commit": "commit", "export": "export",
	"prune": "container prune",
}

// containerAliases are the spellings `container --help` leaves out, as
// Docker's lists ls and rm alone.
var containerAliases = map[string]bool{"list": true, "ps": true, "remove": true}

// containerUsage is Docker's `container --help`: every command, then the
// footer.
func containerUsage(w io.Writer) {
	fmt.Fprint(w, "Usage:  a3s-box container COMMAND\n\nManage boxes\n\nCommands:\n")
	var subs []string
	for sub := range containerSpellings {
		if !containerAliases[sub] {
			subs = append(subs, sub)
		}
	}
	sort.Strings(subs)
	for _, sub := range subs {
		fmt.Fprintf(w, "  %-11s %s\n", sub, verbs[containerSpellings[sub]].summary)
	}
	fmt.Fprint(w, "\nRun 'a3s-box container COMMAND --help' for more information on a command.\n")
}

func containerVerb(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		containerUsage(c.stdout)
		return nil
	}
	name, ok := containerSpellings[args[0]]
	v := verbs[name]
	if !ok || v == nil {
		return fmt.Errorf("'%s' is not an a3s-box container command.\nSee 'a3s-box container --help'.", args[0])
	}
	err := v.run(ctx, c, args[1:])
	if err != nil && v.errCode != 1 {
		if _, ok := err.(*exitError); !ok {
			return &exitError{v.errCode, err}
		}
	}
	return err
}

// containerPruneVerb is Docker's `container prune`: the boxes that are
// not running, as `system prune` takes them.
func containerPruneVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("container prune", "container prune [OPTIONS]", "Remove all stopped boxes")
	force := fs.BoolP("force", "f", false, "Do not prompt for confirmation")
	filters := fs.StringArray("filter", nil, "Provide filter values (e.g. \"until=<timestamp>\")")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("'a3s-box container prune' accepts no arguments.\nSee 'a3s-box container prune --help'.")
	}
	f, err := parsePruneFilters(*filters)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	if !*force && !c.confirm("WARNING! This will remove all stopped containers.") {
		return errors.New("container prune has been cancelled")
	}
	ids, freed, err := pruneBoxes(ctx, eng, f)
	if len(ids) > 0 {
		fmt.Fprintln(c.stdout, "Deleted Containers:")
		for _, id := range ids {
			fmt.Fprintln(c.stdout, id)
		}
		fmt.Fprintln(c.stdout)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Total reclaimed space: %s\n", dockerSize(freed))
	return nil
}
