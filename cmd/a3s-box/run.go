package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "run", summary: "Create and run a new box from an image", errCode: 125, run: runVerb})
}

// proxied are the signals a foreground run forwards to the box's main
// process, as docker run's --sig-proxy does.
var proxied = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func runVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new box from an image")
	fs.SetInterspersed(false)
	var (
		b          spec.Box
		envs       = fs.StringArrayP("env", "e", nil, "Set environment variables")
		envFiles   = fs.StringArray("env-file", nil, "Read in a file of environment variables")
		entrypoint = fs.String("entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
		memory     = fs.StringP("memory", "m", "", "Memory of the box's VM (e.g. 512m, 1g)")
	)
	fs.BoolVar(&b.AutoRemove, "rm", false, "Automatically remove the box when it exits")
	fs.StringVarP(&b.WorkingDir, "workdir", "w", "", "Working directory inside the box")
	fs.StringVarP(&b.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.Float64Var(&b.CPUs, "cpus", 0, fmt.Sprintf("Number of virtual CPUs (default %d)", runtime.DefaultCPUs))
	fs.StringVar(&b.Name, "name", "", "Assign a name to the box")
	fs.StringVarP(&b.Hostname, "hostname", "h", "", "Box host name")
	if err := c.parse(fs, args, 125); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return &exitError{125, errors.New("'a3s-box run' requires at least 1 argument.\nSee 'a3s-box run --help'.")}
	}
	b.Image, b.Command = fs.Arg(0), fs.Args()[1:]
	if fs.Changed("entrypoint") {
		b.Entrypoint = []string{}
		if *entrypoint != "" {
			b.Entrypoint = []string{*entrypoint}
		}
	}
	if *memory != "" {
		n, err := spec.ParseBytes(*memory)
		if err != nil {
			return &exitError{125, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", *memory, err)}
		}
		b.Memory = n
	}
	for _, f := range *envFiles {
		kvs, err := spec.ReadEnvFile(f)
		if err != nil {
			return &exitError{125, err}
		}
		b.Env = append(b.Env, kvs...)
	}
	for _, e := range *envs {
		kv, ok, err := spec.EnvEntry(e, os.LookupEnv)
		if err != nil {
			return &exitError{125, err}
		}
		if ok {
			b.Env = append(b.Env, kv)
		}
	}

	// Signals are caught from here on, so a Ctrl-C during a pull or a boot
	// still tears down what was started.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, proxied...)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	rt, err := c.runtime(ctx)
	if err != nil {
		return &exitError{125, err}
	}
	img, err := resolveWithSignals(ctx, cancel, rt, b.Image, c, sigs)
	if err != nil {
		return err
	}
	code, err := rt.Run(ctx, &b, img, runtime.RunIO{
		ProcessIO: runtime.ProcessIO{Stdout: c.stdout, Stderr: c.stderr},
		Warn:      c.stderr,
		Signals:   sigs,
	})
	var se *runtime.StartError
	switch {
	case errors.As(err, &se):
		return &exitError{se.Code, se}
	case err != nil:
		return &exitError{125, err}
	}
	return &exitError{code: code}
}

// resolveWithSignals finds or pulls the image; a signal meanwhile cancels
// the pull and ends the run with 128+signal.
func resolveWithSignals(ctx context.Context, cancel context.CancelFunc, rt *runtime.Runtime, ref string, c *cli, sigs chan os.Signal) (*image.Image, error) {
	type result struct {
		img *image.Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		img, err := rt.ResolveImage(ctx, ref, c.stderr)
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
