package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/spf13/pflag"
)

func init() {
	register(&verb{name: "start", summary: "Start one or more stopped boxes", errCode: 1, run: startVerb})
	register(&verb{name: "stop", summary: "Stop one or more running boxes", errCode: 1, run: stopVerb})
	register(&verb{name: "restart", summary: "Restart one or more boxes", errCode: 1, run: restartVerb})
	register(&verb{name: "kill", summary: "Kill one or more running boxes", errCode: 1, run: killVerb})
	register(&verb{name: "pause", summary: "Freeze all of one or more boxes' VMs", errCode: 1, run: pauseVerb(true)})
	register(&verb{name: "unpause", summary: "Resume one or more paused boxes", errCode: 1, run: pauseVerb(false)})
	register(&verb{name: "rm", summary: "Remove one or more boxes", errCode: 1, run: rmVerb})
	register(&verb{name: "wait", summary: "Block until one or more boxes stop, then print their exit codes", errCode: 1, run: waitVerb})
	register(&verb{name: "rename", summary: "Rename a box", errCode: 1, run: renameVerb})
}

// errPrinted is a verb that already reported its failures one per line:
// only its exit status is left to give.
var errPrinted = &exitError{code: 1}

// eachBox runs fn on every named box, reporting each failure on its own
// line and going on, as Docker does; it fails if any one failed. With
// echo, each box done is printed as the user named it.
func (c *cli) eachBox(ctx context.Context, refs []string, echo bool, fn func(e *engine.Engine, b *runtime.Box) error) error {
	e, err := c.engine(ctx)
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		b, err := e.Box(ref)
		if err == nil {
			err = fn(e, b)
		}
		if err != nil {
			c.printError(boxError(ref, err))
			failed = true
			continue
		}
		if echo {
			fmt.Fprintln(c.stdout, ref)
		}
	}
	if failed {
		return errPrinted
	}
	return nil
}

// lookupBoxes finds every named box, reporting each unknown one on its
// own line; failed says whether any was.
func (c *cli) lookupBoxes(e *engine.Engine, refs []string) (boxes []*runtime.Box, failed bool) {
	for _, ref := range refs {
		b, err := e.Box(ref)
		if err != nil {
			c.printError(boxError(ref, err))
			failed = true
			continue
		}
		boxes = append(boxes, b)
	}
	return boxes, failed
}

// boxError says which box an error is about, in Docker's words.
func boxError(ref string, err error) error {
	if errors.Is(err, runtime.ErrNoSuchBox) {
		return fmt.Errorf("No such box: %s", ref)
	}
	return err
}

// oneBox opens the engine and finds the box ref names.
func (c *cli) oneBox(ctx context.Context, ref string) (*engine.Engine, *runtime.Box, error) {
	e, err := c.engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	b, err := e.Box(ref)
	if err != nil {
		return nil, nil, boxError(ref, err)
	}
	return e, b, nil
}

func startVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("start", "start [OPTIONS] BOX [BOX...]", "Start one or more stopped boxes")
	attach := fs.BoolP("attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	interactive := fs.BoolP("interactive", "i", false, "Attach the box's STDIN")
	detachKeys := fs.String("detach-keys", defaultDetachKeys, "Override the key sequence for detaching a box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	keys, err := parseDetachKeys(*detachKeys)
	if err != nil {
		return err
	}
	if err := needArgs(fs, "start", 1); err != nil {
		return err
	}
	if (*attach || *interactive) && fs.NArg() > 1 {
		return errors.New("you cannot start and attach multiple boxes at once")
	}
	if *attach || *interactive {
		e, b, err := c.oneBox(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, proxied...)
		defer signal.Stop(sigs)
		if err := e.Start(ctx, b, true); err != nil {
			return err
		}
		err = c.attach(ctx, e, b, attachOpts{stdin: *interactive && b.Spec.Interactive, tty: b.Spec.Tty, keys: keys}, sigs)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 125 {
			ee.code = 1
		}
		return err
	}
	return c.eachBox(ctx, fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
		return e.Start(ctx, b, false)
	})
}

// stopOpts are stop's and restart's -t and -s.
type stopOpts struct {
	fs      *pflag.FlagSet
	timeout int
	sig     string
}

func newStopOpts(c *cli, name, usage, summary string) *stopOpts {
	o := &stopOpts{fs: c.newFlags(name, usage, summary)}
	// --timeout is Docker 28's spelling; --time stays, as Docker keeps it.
	o.fs.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait before killing the box (default: the box's stop timeout, 10)")
	o.fs.IntVar(&o.timeout, "time", 0, "Seconds to wait before killing the box (deprecated: use --timeout)")
	_ = o.fs.MarkHidden("time")
	o.fs.StringVarP(&o.sig, "signal", "s", "", "Signal to send to the box (default: the box's stop signal, SIGTERM)")
	return o
}

func (o *stopOpts) parse(c *cli, args []string) error {
	if err := c.parse(o.fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(o.fs, o.fs.Name(), 1); err != nil {
		return err
	}
	set := o.fs.Changed("time") || o.fs.Changed("timeout")
	if o.fs.Changed("time") && o.fs.Changed("timeout") {
		return errors.New("conflicting options: --time and --timeout")
	}
	if set && o.timeout < -1 {
		return fmt.Errorf("invalid value for --timeout: %d: must be -1 (wait for ever) or more", o.timeout)
	}
	if !set {
		o.timeout = -2 // the box's own
	}
	if o.sig != "" {
		if _, err := runtime.ParseSignal(o.sig); err != nil {
			return err
		}
	}
	return nil
}

// options are the stop the user asked for.
func (o *stopOpts) options() engine.StopOptions {
	var so engine.StopOptions
	if o.sig != "" {
		so.Signal, _ = runtime.ParseSignal(o.sig) // checked by parse
	}
	if o.timeout != -2 {
		so.Timeout = &o.timeout
	}
	return so
}

func stopVerb(ctx context.Context, c *cli, args []string) error {
	o := newStopOpts(c, "stop", "stop [OPTIONS] BOX [BOX...]", "Stop one or more running boxes")
	if err := o.parse(c, args); err != nil {
		return err
	}
	return c.eachBox(ctx, o.fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
		return e.Stop(ctx, b, o.options())
	})
}

func restartVerb(ctx context.Context, c *cli, args []string) error {
	o := newStopOpts(c, "restart", "restart [OPTIONS] BOX [BOX...]", "Restart one or more boxes")
	if err := o.parse(c, args); err != nil {
		return err
	}
	return c.eachBox(ctx, o.fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
		return e.Restart(ctx, b, o.options())
	})
}

func killVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("kill", "kill [OPTIONS] BOX [BOX...]", "Kill one or more running boxes")
	sigName := fs.StringP("signal", "s", "KILL", "Signal to send to the box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "kill", 1); err != nil {
		return err
	}
	sig, err := runtime.ParseSignal(*sigName)
	if err != nil {
		return err
	}
	return c.eachBox(ctx, fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
		return e.Kill(ctx, b, sig)
	})
}

func pauseVerb(freeze bool) func(ctx context.Context, c *cli, args []string) error {
	name, summary := "pause", "Freeze all of one or more boxes' VMs"
	if !freeze {
		name, summary = "unpause", "Resume one or more paused boxes"
	}
	return func(ctx context.Context, c *cli, args []string) error {
		fs := c.newFlags(name, name+" BOX [BOX...]", summary)
		if err := c.parse(fs, args, 1); err != nil {
			return err
		}
		if err := needArgs(fs, name, 1); err != nil {
			return err
		}
		return c.eachBox(ctx, fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
			if freeze {
				return e.Pause(ctx, b)
			}
			return e.Unpause(ctx, b)
		})
	}
}

func rmVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("rm", "rm [OPTIONS] BOX [BOX...]", "Remove one or more boxes")
	force := fs.BoolP("force", "f", false, "Force the removal of a running box (uses SIGKILL)")
	volumes := fs.BoolP("volumes", "v", false, "Remove anonymous volumes associated with the box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "rm", 1); err != nil {
		return err
	}
	return c.eachBox(ctx, fs.Args(), true, func(e *engine.Engine, b *runtime.Box) error {
		return e.Remove(ctx, b, engine.RemoveOptions{Force: *force, Volumes: *volumes})
	})
}

func waitVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("wait", "wait BOX [BOX...]", "Block until one or more boxes stop, then print their exit codes")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "wait", 1); err != nil {
		return err
	}
	return c.eachBox(ctx, fs.Args(), false, func(e *engine.Engine, b *runtime.Box) error {
		code, err := e.Wait(ctx, b)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, code)
		return nil
	})
}

func renameVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("rename", "rename BOX NEW_NAME", "Rename a box")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("'a3s-box rename' requires exactly 2 arguments.\nSee 'a3s-box rename --help'.")
	}
	e, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	return e.Rename(ctx, b, fs.Arg(1))
}
