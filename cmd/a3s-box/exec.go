package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "exec", summary: "Execute a command in a running box", errCode: 1, run: execVerb})
}

func execVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("exec", "exec [OPTIONS] BOX COMMAND [ARG...]", "Execute a command in a running box")
	fs.SetInterspersed(false)
	interactive := fs.BoolP("interactive", "i", false, "Keep STDIN open even if not attached")
	detach := fs.BoolP("detach", "d", false, "Detached mode: run command in the background")
	tty := fs.BoolP("tty", "t", false, "Allocate a pseudo-TTY")
	detachKeys := fs.String("detach-keys", defaultDetachKeys, "Override the key sequence for detaching a command")
	envs := fs.StringArrayP("env", "e", nil, "Set environment variables")
	envFiles := fs.StringArray("env-file", nil, "Read in a file of environment variables")
	workdir := fs.StringP("workdir", "w", "", "Working directory inside the box")
	user := fs.StringP("user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	privileged := fs.Bool("privileged", false, "Give every capability to the command")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return errors.New("'a3s-box exec' requires at least 2 arguments.\nSee 'a3s-box exec --help'.")
	}
	keys, err := parseDetachKeys(*detachKeys)
	if err != nil {
		return err
	}
	if *tty && *interactive && !*detach && !isTerminal(c.stdin) {
		return errors.New("the input device is not a TTY; leave out -t, or run from a terminal")
	}
	var env []string
	for _, f := range *envFiles {
		kvs, err := spec.ReadEnvFile(f)
		if err != nil {
			return err
		}
		env = append(env, kvs...)
	}
	kvs, err := envArgs(*envs)
	if err != nil {
		return err
	}
	env = append(env, kvs...)
	if *workdir != "" && (*workdir)[0] != '/' {
		return fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", *workdir)
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	ex := engine.ExecOptions{Args: fs.Args()[1:], Env: env, Dir: *workdir, User: *user, Privileged: *privileged}
	pio := runtime.ProcessIO{Stdout: c.stdout, Stderr: c.stderr}
	var t *terminal
	switch {
	case *detach:
		pio = runtime.ProcessIO{}
	case *interactive:
		pio.Stdin = &detachReader{r: c.stdin, keys: keys}
		if *tty {
			if t, err = openTerminal(c.stdin); err != nil {
				return err
			}
			defer t.close()
		}
	}
	ex.Tty = *tty
	ex.Rows, ex.Cols = t.size()
	p, err := eng.Exec(ctx, b, ex, pio)
	var se *runtime.StartError
	switch {
	case errors.As(err, &se):
		return &exitError{se.Code, se}
	case err != nil:
		return err
	}
	if *detach {
		return nil
	}
	t.watchResize(func(r, c uint16) { _ = p.Resize(r, c) })
	exit, err := p.Wait()
	if errors.Is(err, runtime.ErrDetached) {
		return nil
	}
	if err != nil {
		return err
	}
	return &exitError{code: exit.Code}
}

// envArgs reads -e values: K=V, or K for the caller's value (left out
// when the caller has none).
func envArgs(args []string) ([]string, error) {
	var env []string
	for _, e := range args {
		kv, ok, err := spec.EnvEntry(e, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			env = append(env, kv)
		}
	}
	return env, nil
}
