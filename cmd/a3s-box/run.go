package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
)

func init() {
	register(&verb{name: "run", summary: "Create and run a new box from an image", errCode: 125, run: runVerb})
	register(&verb{name: "create", summary: "Create a new box", errCode: 125, run: createVerb})
}

// proxied are the signals a foreground run forwards to the box's main
// process, as docker run's --sig-proxy does.
var proxied = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func runVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new box from an image")
	bf := addBoxFlags(fs)
	detach := fs.BoolP("detach", "d", false, "Run box in background and print box ID")
	sigProxy := fs.Bool("sig-proxy", true, "Proxy received signals to the process")
	detachKeys := fs.String("detach-keys", defaultDetachKeys, "Override the key sequence for detaching a box")
	if err := c.parse(fs, args, 125); err != nil {
		return err
	}
	b, err := bf.box(fs)
	if err != nil {
		return &exitError{125, err}
	}
	keys, err := parseDetachKeys(*detachKeys)
	if err != nil {
		return &exitError{125, err}
	}
	if b.Tty && b.Interactive && !*detach && !isTerminal(c.stdin) {
		return &exitError{125, errors.New("the input device is not a TTY; leave out -t, or run from a terminal")}
	}

	// Signals are caught from here on, so a Ctrl-C during a pull or a boot
	// still tears down what was started.
	sigs := make(chan os.Signal, 8)
	if !*detach && *sigProxy {
		signal.Notify(sigs, proxied...)
		defer signal.Stop(sigs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e, err := c.engine(ctx)
	if err != nil {
		return &exitError{125, err}
	}
	img, err := resolveWithSignals(ctx, cancel, e, b.Image, c, sigs)
	if err != nil {
		return err
	}
	if err := bf.net.publishExposed(b, img); err != nil {
		return &exitError{125, err}
	}
	box, err := e.Run(ctx, b, img, engine.RunOptions{Attach: !*detach})
	if err != nil {
		return startFailure(err)
	}
	if *detach {
		fmt.Fprintln(c.stdout, box.ID)
		return nil
	}
	return c.attach(ctx, e, box, attachOpts{stdin: b.Interactive, tty: b.Tty, keys: keys}, sigs)
}

// attachOpts says how a CLI joins a box's main process.
type attachOpts struct {
	stdin bool   // relay stdin (the box was created with -i)
	tty   bool   // the box has a terminal: raw mode, sizes, detach keys
	keys  []byte // the detach sequence
}

// attach relays a box's main process to the terminal until it exits, and
// exits with its status; the detach keys leave it running.
func (c *cli) attach(ctx context.Context, e *engine.Engine, b *runtime.Box, o attachOpts, sigs chan os.Signal) error {
	var t *terminal
	if o.tty && o.stdin {
		var err error
		if t, err = openTerminal(c.stdin); err != nil {
			return &exitError{125, err}
		}
		defer t.close()
	}
	rows, cols := t.size()
	att, err := e.Attach(ctx, b, o.stdin, rows, cols)
	if err != nil {
		return &exitError{125, err}
	}
	t.watchResize(func(r, c uint16) { _ = att.Resize(r, c) })
	go func() {
		for s := range sigs {
			_ = att.Signal(s.(syscall.Signal))
		}
	}()
	pio := runtime.ProcessIO{Stdout: c.stdout, Stderr: c.stderr}
	if o.stdin {
		pio.Stdin = &detachReader{r: c.stdin, keys: o.keys}
	}
	exit, err := att.Copy(pio)
	if errors.Is(err, runtime.ErrDetached) {
		return nil
	}
	if err != nil {
		return &exitError{125, err}
	}
	if exit.Error != "" {
		return &exitError{exit.Code, errors.New(exit.Error)}
	}
	return &exitError{code: exit.Code}
}

// startFailure gives a failed start Docker's exit code: 126 or 127 when
// the command could not run, 125 otherwise.
func startFailure(err error) error {
	var se *runtime.StartError
	if errors.As(err, &se) {
		return &exitError{se.Code, se}
	}
	return &exitError{125, err}
}

func createVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new box")
	bf := addBoxFlags(fs)
	if err := c.parse(fs, args, 125); err != nil {
		return err
	}
	b, err := bf.box(fs)
	if err != nil {
		return &exitError{125, err}
	}
	e, err := c.engine(ctx)
	if err != nil {
		return &exitError{125, err}
	}
	img, err := e.ResolveImage(ctx, b.Image, c.stderr)
	if err != nil {
		return &exitError{125, err}
	}
	if err := bf.net.publishExposed(b, img); err != nil {
		return &exitError{125, err}
	}
	box, err := e.Create(ctx, b, img)
	if err != nil {
		return &exitError{125, err}
	}
	fmt.Fprintln(c.stdout, box.ID)
	return nil
}

// resolveWithSignals finds or pulls the image; a signal meanwhile cancels
// the pull and ends the run with 128+signal.
func resolveWithSignals(ctx context.Context, cancel context.CancelFunc, e *engine.Engine, ref string, c *cli, sigs chan os.Signal) (*image.Image, error) {
	type result struct {
		img *image.Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		img, err := e.ResolveImage(ctx, ref, c.stderr)
		done <- result{img, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &exitError{125, r.err}
		}
		return r.img, nil
	case s := <-sigs:
		cancel()
		<-done
		return nil, &exitError{code: 128 + int(s.(syscall.Signal))}
	}
}
