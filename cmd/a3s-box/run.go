package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
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
	if *detach && len(bf.run.attach) > 0 {
		return &exitError{125, errors.New("conflicting options: cannot specify both --attach and --detach")}
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
	writeCID, removeCID, err := writeCIDFile(bf.run.cidfile)
	if err != nil {
		return &exitError{125, err}
	}
	e, err := c.engine(ctx)
	if err != nil {
		removeCID()
		return &exitError{125, err}
	}
	img, err := resolveWithSignals(ctx, cancel, e, b.Image, bf.run.pull, bf.run.progress(c), sigs)
	if err != nil {
		removeCID()
		return err
	}
	if err := bf.net.publishExposed(b, img); err != nil {
		removeCID()
		return &exitError{125, err}
	}
	box, err := e.Run(ctx, b, img, engine.RunOptions{Attach: !*detach})
	if box == nil && err != nil {
		removeCID()
	}
	if box != nil {
		if err := writeCID(box.ID); err != nil {
			return &exitError{125, err}
		}
	}
	if err != nil {
		return startFailure(err)
	}
	if *detach {
		fmt.Fprintln(c.stdout, box.ID)
		return nil
	}
	o := attachOpts{stdin: b.Interactive, tty: b.Tty, keys: keys}
	o.streams(bf.run.attach)
	return c.attach(ctx, e, box, o, sigs)
}

// attachOpts says how a CLI joins a box's main process.
type attachOpts struct {
	stdin bool // relay stdin (the box was created with -i)
	// noStdout and noStderr leave a stream out (run -a names the others).
	noStdout, noStderr bool
	tty                bool   // the box has a terminal: raw mode, sizes, detach keys
	keys               []byte // the detach sequence
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
	if o.noStdout {
		pio.Stdout = io.Discard
	}
	if o.noStderr {
		pio.Stderr = io.Discard
	}
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
	writeCID, removeCID, err := writeCIDFile(bf.run.cidfile)
	if err != nil {
		return &exitError{125, err}
	}
	box, err := c.createBox(ctx, bf, b)
	if err != nil {
		removeCID()
		return &exitError{125, err}
	}
	if err := writeCID(box.ID); err != nil {
		return &exitError{125, err}
	}
	fmt.Fprintln(c.stdout, box.ID)
	return nil
}

// resolveWithSignals finds or pulls the image; a signal meanwhile cancels
// the pull and ends the run with 128+signal.
func resolveWithSignals(ctx context.Context, cancel context.CancelFunc, e *engine.Engine, ref, policy string, progress io.Writer, sigs chan os.Signal) (*image.Image, error) {
	type result struct {
		img *image.Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		img, err := e.ResolveImagePolicy(ctx, ref, policy, progress)
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

// createBox resolves the image and makes the box, as create does.
func (c *cli) createBox(ctx context.Context, bf *boxFlags, b *spec.Box) (*runtime.Box, error) {
	e, err := c.engine(ctx)
	if err != nil {
		return nil, err
	}
	img, err := e.ResolveImagePolicy(ctx, b.Image, bf.run.pull, bf.run.progress(c))
	if err != nil {
		return nil, err
	}
	if err := bf.net.publishExposed(b, img); err != nil {
		return nil, err
	}
	return e.Create(ctx, b, img)
}

// progress is where pull progress goes: nowhere with --quiet.
func (f *runOptFlags) progress(c *cli) io.Writer {
	if f.quiet {
		return nil
	}
	return c.stderr
}

// streams applies run -a: only the streams named are attached.
func (o *attachOpts) streams(names []string) {
	if len(names) == 0 {
		return
	}
	has := func(s string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
	}
	o.stdin = o.stdin && has("stdin")
	o.noStdout, o.noStderr = !has("stdout"), !has("stderr")
}
