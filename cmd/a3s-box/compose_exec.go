package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/spec"
	shellwords "github.com/mattn/go-shellwords"
)

// composeExec is `compose exec`: exec in a service's box (replica
// --index), with a terminal when stdin is one, as compose does.
func composeExec(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("exec", "exec [OPTIONS] SERVICE COMMAND [ARGS...]", "Execute a command in a running box")
	fs.SetInterspersed(false)
	noTTY := fs.BoolP("no-TTY", "T", false, "Disable pseudo-TTY allocation. By default compose exec allocates a TTY when stdin is a terminal.")
	detach := fs.BoolP("detach", "d", false, "Detached mode: run the command in the background")
	envs := fs.StringArrayP("env", "e", nil, "Set environment variables")
	workdir := fs.StringP("workdir", "w", "", "Path to the working directory for this command")
	user := fs.StringP("user", "u", "", "Run the command as this user")
	index := fs.Int("index", 1, "Index of the box if the service has multiple replicas")
	fs.Bool("privileged", false, "Give extended privileges to the process (a box's processes already have the guest's)")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return errors.New("'a3s-box compose exec' requires at least 2 arguments: SERVICE COMMAND.\nSee 'a3s-box compose exec --help'.")
	}
	service := fs.Arg(0)
	b, err := p.serviceBox(ctx, service, *index)
	if err != nil {
		return err
	}
	if !b.State.Running() {
		return fmt.Errorf("service %q is not running", service)
	}
	execArgs := []string{"-i"}
	if !*noTTY && !*detach && isTerminal(p.c.stdin) {
		execArgs = append(execArgs, "-t")
	}
	if *detach {
		execArgs = append(execArgs, "-d")
	}
	for _, e := range *envs {
		execArgs = append(execArgs, "-e", e)
	}
	if *workdir != "" {
		execArgs = append(execArgs, "-w", *workdir)
	}
	if *user != "" {
		execArgs = append(execArgs, "-u", *user)
	}
	execArgs = append(append(execArgs, b.ID), fs.Args()[1:]...)
	return execVerb(ctx, p.c, execArgs)
}

// composeRun is `compose run`: a one-off box of a service,
// <project>-<service>-run-<hex>, with the service's configuration less its
// ports and restart policy, after its dependencies are up. It is no
// replica: Observe leaves it out, and `compose down` removes it.
func composeRun(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("run", "run [OPTIONS] SERVICE [COMMAND] [ARGS...]", "Run a one-off command on a service")
	fs.SetInterspersed(false)
	rm := fs.Bool("rm", false, "Automatically remove the box when it exits")
	envs := fs.StringArrayP("env", "e", nil, "Set environment variables")
	name := fs.String("name", "", "Assign a name to the box")
	noDeps := fs.Bool("no-deps", false, "Don't start linked services")
	detach := fs.BoolP("detach", "d", false, "Run the box in the background and print its name")
	noTTY := fs.BoolP("no-TTY", "T", false, "Disable pseudo-TTY allocation (default: a TTY when stdin is a terminal)")
	user := fs.StringP("user", "u", "", "Run as the specified user")
	workdir := fs.StringP("workdir", "w", "", "Working directory inside the box")
	entrypoint := fs.String("entrypoint", "", "Override the entrypoint of the image")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return errors.New("'a3s-box compose run' requires at least 1 argument: SERVICE.\nSee 'a3s-box compose run --help'.")
	}
	proj, err := p.loadServices(ctx, fs.Args()[:1])
	if err != nil {
		return err
	}
	s, service := proj.Stack, fs.Arg(0)
	b := s.Boxes[service]
	if len(fs.Args()) > 1 {
		b.Command = fs.Args()[1:]
	}
	if fs.Changed("entrypoint") {
		words, err := shellwords.Parse(*entrypoint)
		if err != nil {
			return fmt.Errorf("invalid --entrypoint %q: %v", *entrypoint, err)
		}
		b.Entrypoint, b.Command = words, fs.Args()[1:]
	}
	env, err := envArgs(*envs)
	if err != nil {
		return err
	}
	b.Env = spec.MergeEnv(b.Env, env)
	if *user != "" {
		b.User = *user
	}
	if *workdir != "" {
		b.WorkingDir = *workdir
	}
	b.Name = *name
	if b.Name == "" {
		b.Name = fmt.Sprintf("%s-%s-run-%s", s.Name, service, randomHex(6))
	}
	// A one-off publishes none of the service's ports, never restarts and
	// is nobody's dependency.
	b.Ports, b.Restart, b.DependsOn, b.Replicas = nil, spec.RestartPolicy{}, nil, nil
	b.AutoRemove = *rm
	b.Interactive = !*detach
	b.Tty = !*noTTY && !*detach && isTerminal(p.c.stdin)
	b.Labels = maps.Clone(b.Labels)
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.Labels[reconcile.LabelProject], b.Labels[reconcile.LabelService], b.Labels[reconcile.LabelOneoff] = s.Name, service, "True"

	e, err := p.c.engine(ctx)
	if err != nil {
		return err
	}
	if !*noDeps {
		if err := e.UpDependencies(ctx, s, service, engine.ReconcileOptions{Progress: p.c.stdout}); err != nil {
			return err
		}
	}
	img, err := e.ResolveImage(ctx, b.Image, p.c.stderr)
	if err != nil {
		return err
	}
	if *detach {
		box, err := e.Run(ctx, &b, img, engine.RunOptions{OneOff: true})
		switch {
		case box == nil && err != nil:
			return err
		case err != nil:
			return startFailure(err)
		}
		fmt.Fprintln(p.c.stdout, box.Name)
		return nil
	}
	sigs := make(chan os.Signal, 8)
	if !b.Tty {
		signal.Notify(sigs, proxied...)
		defer signal.Stop(sigs)
	}
	box, err := e.Run(ctx, &b, img, engine.RunOptions{Attach: true})
	switch {
	case box == nil && err != nil:
		return err
	case err != nil:
		return startFailure(err)
	}
	keys, _ := parseDetachKeys(defaultDetachKeys)
	return p.c.attach(ctx, e, box, attachOpts{stdin: b.Interactive, tty: b.Tty, keys: keys}, sigs)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
