package main

import (
	"context"
	"fmt"
)

func init() {
	register(&verb{name: "container", summary: "Manage boxes (Docker's 'container' spellings)", errCode: 1, run: containerVerb})
}

// containerSpellings maps `container SUB` onto the top-level verbs.
var containerSpellings = map[string]string{
	"ls": "ps", "list": "ps", "ps": "ps", "create": "create", "run": "run", "start": "start",
	"stop": "stop", "restart": "restart", "kill": "kill", "pause": "pause", "unpause": "unpause",
	"rm": "rm", "remove": "rm", "wait": "wait", "rename": "rename", "inspect": "inspect",
	"logs": "logs", "attach": "attach", "exec": "exec", "top": "top", "stats": "stats",
	"cp": "cp", "port": "port", "update": "update", "diff": "diff", "commit": "commit", "export": "export",
}

func containerVerb(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(c.stdout, "Usage:  a3s-box container COMMAND\n\nManage boxes\n\nCommands:")
		for _, sub := range []string{"attach", "create", "exec", "inspect", "kill", "logs", "ls", "pause", "rename", "restart", "rm", "run", "start", "stats", "stop", "top", "unpause", "update", "wait"} {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", sub, verbs[containerSpellings[sub]].summary)
		}
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
