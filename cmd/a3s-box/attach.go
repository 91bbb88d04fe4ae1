package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "attach", summary: "Attach local standard input, output, and error streams to a running box", errCode: 1, run: attachVerb})
}

func attachVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("attach", "attach [OPTIONS] BOX", "Attach local standard input, output, and error streams to a running box")
	noStdin := fs.Bool("no-stdin", false, "Do not attach STDIN")
	sigProxy := fs.Bool("sig-proxy", true, "Proxy all received signals to the process")
	detachKeys := fs.String("detach-keys", defaultDetachKeys, "Override the key sequence for detaching a box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("'a3s-box attach' requires exactly 1 argument.\nSee 'a3s-box attach --help'.")
	}
	keys, err := parseDetachKeys(*detachKeys)
	if err != nil {
		return err
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if !b.State.Running() {
		return fmt.Errorf("you cannot attach to a stopped box %s, start it first", b.Name)
	}
	if b.State.Status == spec.StatusPaused {
		return fmt.Errorf("you cannot attach to a paused box %s, unpause it first", b.Name)
	}
	sigs := make(chan os.Signal, 8)
	// With a terminal, Ctrl-C is a keystroke for the box, not a signal.
	if *sigProxy && !b.Spec.Tty {
		signal.Notify(sigs, proxied...)
		defer signal.Stop(sigs)
	}
	err = c.attach(ctx, eng, b, attachOpts{stdin: !*noStdin && b.Spec.Interactive, tty: b.Spec.Tty, keys: keys}, sigs)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 125 {
		ee.code = 1
	}
	return err
}
