// Command a3s-box runs OCI images as microVMs with Docker's verbs.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/spf13/pflag"
)

// verb is one a3s-box command.
type verb struct {
	name    string
	summary string
	// errCode is the exit status for a3s-box's own errors in this verb:
	// Docker uses 125 for run and create, 1 elsewhere.
	errCode int
	run     func(ctx context.Context, c *cli, args []string) error
	// hidden verbs are a3s-box's own plumbing, left out of the usage.
	hidden bool
}

var verbs = map[string]*verb{}

func register(v *verb) { verbs[v.name] = v }

// cli holds what every verb shares: global options and output streams.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	root           string
	accel          string
	cfg            *runtime.Config
	eng            *engine.Engine
}

// exitError carries a specific exit status out of a verb.
type exitError struct {
	code int
	err  error // printed when non-nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(c.main(context.Background(), os.Args[1:]))
}

func (c *cli) main(ctx context.Context, args []string) int {
	fs := pflag.NewFlagSet("a3s-box", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.root, "root", "", "state directory (default "+runtime.DefaultRoot()+", or $A3S_BOX_ROOT)")
	fs.StringVar(&c.accel, "accel", "", "accelerator: kvm, tcg or auto (default auto, or $A3S_BOX_ACCEL)")
	help := fs.Bool("help", false, "print usage")
	showVersion := fs.BoolP("version", "v", false, "print version information and quit")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(c.stderr, "a3s-box: %v\nSee 'a3s-box --help'.\n", err)
		return 125
	}
	if *showVersion {
		fmt.Fprintf(c.stdout, "a3s-box version %s\n", runtime.Version)
		return 0
	}
	rest := fs.Args()
	if *help || len(rest) == 0 || rest[0] == "help" {
		c.usage(fs)
		return 0
	}
	v, ok := verbs[rest[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "a3s-box: '%s' is not an a3s-box command.\nSee 'a3s-box --help'.\n", rest[0])
		return 1
	}
	err := v.run(ctx, c, rest[1:])
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			c.printError(ee.err)
		}
		return ee.code
	case errors.Is(err, pflag.ErrHelp):
		return 0
	}
	c.printError(err)
	return v.errCode
}

// printError is how every verb reports an error: one line (or a few) on
// stderr. An error may carry a guest's words (an exec's failure, a
// copy's), so its control characters are escaped.
func (c *cli) printError(err error) {
	fmt.Fprintf(c.stderr, "a3s-box: %s\n", termLines(err.Error()))
}

func (c *cli) usage(fs *pflag.FlagSet) {
	fmt.Fprint(c.stdout, "Usage:  a3s-box [OPTIONS] COMMAND\n\nRun OCI images as microVMs, each with its own kernel.\n\nCommands:\n")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if verbs[n].hidden {
			continue
		}
		fmt.Fprintf(c.stdout, "  %-10s %s\n", n, verbs[n].summary)
	}
	fmt.Fprintf(c.stdout, "\nGlobal Options:\n%s\nRun 'a3s-box COMMAND --help' for more information on a command.\n", fs.FlagUsages())
}

// engine opens the state directory with the global options applied:
// flags over environment over the config file.
func (c *cli) engine(ctx context.Context) (*engine.Engine, error) {
	if c.eng != nil {
		return c.eng, nil
	}
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	eng, err := engine.Open(ctx, cfg, engine.Options{Warn: c.stderr})
	if err != nil {
		return nil, err
	}
	c.eng = eng
	return eng, nil
}

func (c *cli) config() (*runtime.Config, error) {
	if c.cfg != nil {
		return c.cfg, nil
	}
	root := c.root
	if root == "" {
		root = os.Getenv("A3S_BOX_ROOT")
	}
	if root == "" {
		root = runtime.DefaultRoot()
	}
	cfg, err := runtime.LoadConfig(root)
	if err != nil {
		return nil, err
	}
	if c.accel != "" {
		cfg.Accel, cfg.AccelSource = c.accel, "--accel"
	}
	c.cfg = cfg
	return cfg, nil
}

// newFlags makes a verb's flag set with Docker's usage layout.
func (c *cli) newFlags(name, usage, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Bool("help", false, "Print usage")
	fs.Usage = func() {
		fmt.Fprintf(c.stdout, "Usage:  a3s-box %s\n\n%s\n\nOptions:\n%s", usage, summary, fs.FlagUsages())
	}
	return fs
}

// parse parses a verb's flags; --help prints usage and stops the verb.
func (c *cli) parse(fs *pflag.FlagSet, args []string, code int) error {
	if err := fs.Parse(args); err != nil {
		return &exitError{code: code, err: fmt.Errorf("%v\nSee 'a3s-box %s --help'.", err, fs.Name())}
	}
	if h, _ := fs.GetBool("help"); h {
		fs.Usage()
		return pflag.ErrHelp
	}
	return nil
}

func joinLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// subcommand is one verb of a management command (image ls, volume rm).
type subcommand struct {
	run     func(ctx context.Context, c *cli, args []string) error
	summary string // empty for an alias, left out of the usage
}

// subcommands runs args[0] of management command name, or prints its
// usage.
func (c *cli) subcommands(ctx context.Context, name, summary string, subs map[string]subcommand, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintf(c.stdout, "Usage:  a3s-box %s COMMAND\n\n%s\n\nCommands:\n", name, summary)
		var names []string
		for n, s := range subs {
			if s.summary != "" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", n, subs[n].summary)
		}
		fmt.Fprintf(c.stdout, "\nRun 'a3s-box %s COMMAND --help' for more information on a command.\n", name)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("'%s' is not an a3s-box %s command (see 'a3s-box %s --help')", args[0], name, name)
	}
	return sub.run(ctx, c, args[1:])
}

// confirm asks a prune's question and reports a yes.
func (c *cli) confirm(warning string) bool {
	return c.ask(warning + "\nAre you sure you want to continue?")
}

// ask prints a yes-or-no question and reports a yes.
func (c *cli) ask(question string) bool {
	fmt.Fprintf(c.stdout, "%s [y/N] ", question)
	line, _ := bufio.NewReader(c.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		fmt.Fprintln(c.stdout)
		return false
	}
	return true
}
