package main

import (
	"context"
	"fmt"
)

func init() {
	register(&verb{name: "system", summary: "Manage a3s-box (df, prune, info, events)", errCode: 1, run: systemVerb})
}

// systemSubcommands are Docker's `system` subcommands; info and events
// run the same function as their top-level spellings.
var systemSubcommands = map[string]struct {
	run     func(ctx context.Context, c *cli, args []string) error
	summary string
}{
	"df":     {systemDFVerb, "Show a3s-box disk usage"},
	"prune":  {systemPruneVerb, "Remove unused data"},
	"info":   {infoVerb, "Display system-wide information"},
	"events": {eventsVerb, "Get real time events from a3s-box"},
}

func systemVerb(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(c.stdout, "Usage:  a3s-box system COMMAND\n\nManage a3s-box\n\nCommands:\n")
		for _, n := range sortedKeys(systemSubcommands) {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", n, systemSubcommands[n].summary)
		}
		fmt.Fprint(c.stdout, "\nRun 'a3s-box system COMMAND --help' for more information on a command.\n")
		return nil
	}
	sub, ok := systemSubcommands[args[0]]
	if !ok {
		return fmt.Errorf("'%s' is not an a3s-box system command.\nSee 'a3s-box system --help'", args[0])
	}
	return sub.run(ctx, c, args[1:])
}
