package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "apply", summary: "Make the machine match stack files (or compose files)", errCode: 1, run: applyVerb})
	register(&verb{name: "plan", summary: "Show what apply would do, changing nothing", errCode: 1, run: planVerb})
	register(&verb{name: "delete", summary: "Remove the stacks of files and everything they own", errCode: 1, run: deleteVerb})
	register(&verb{name: "stacks", summary: "List stacks", errCode: 1, run: stacksVerb})
	register(&verb{name: "stack", summary: "Manage stacks (stack ls, stack inspect)", errCode: 1, run: stackVerb})
}

// loadStacks reads -f's file, directory or "-"; warnings go to stderr.
func (c *cli) loadStacks(ctx context.Context, path string) ([]*spec.Stack, reconcile.Source, error) {
	if path == "" {
		return nil, reconcile.Source{}, errors.New("-f is required: a stack file, a compose file, a directory, or - for stdin")
	}
	var stacks []*spec.Stack
	var warns []spec.Warning
	var err error
	src := reconcile.Source{Kind: reconcile.SourceStdin}
	if path == "-" {
		data, rerr := io.ReadAll(c.stdin)
		if rerr != nil {
			return nil, src, rerr
		}
		stacks, warns, err = spec.LoadData(ctx, "-", data)
	} else {
		abs, aerr := filepath.Abs(path)
		if aerr != nil {
			return nil, src, aerr
		}
		src = reconcile.Source{Kind: reconcile.SourceFile, Path: abs}
		if fi, serr := os.Stat(abs); serr == nil && fi.IsDir() {
			src.Kind = reconcile.SourceDir
		}
		stacks, warns, err = spec.Load(ctx, path)
	}
	for _, w := range warns {
		fmt.Fprintf(c.stderr, "a3s-box: warning: %s\n", w.String())
	}
	if err != nil {
		return nil, src, stackErrors(err)
	}
	for _, s := range stacks {
		warnUnsupported(c, s)
	}
	return stacks, src, nil
}

// stackErrors prints every problem of a stack that failed to load, one
// per line, and returns the exit status.
func stackErrors(err error) error {
	errs := spec.Errors(err)
	if len(errs) <= 1 {
		return err
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return errors.New(strings.Join(lines, "\na3s-box: "))
}

// warnUnsupported names the fields of a stack a3s-box reads but cannot
// give a box yet, rather than dropping them in silence.
func warnUnsupported(c *cli, s *spec.Stack) {
	for _, name := range s.BoxNames() {
		b := s.Boxes[name]
		var fields []string
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"init", b.Init},
		} {
			if f.set {
				fields = append(fields, f.name)
			}
		}
		if len(fields) > 0 {
			fmt.Fprintf(c.stderr, "a3s-box: warning: %s: box %s: %s not supported yet; ignored\n", s.File, name, strings.Join(fields, ", "))
		}
	}
}

// checkedStacks reads -f's stacks and fails, naming each, when a stack's
// external volumes do not exist: apply would fail on them, so it changes
// nothing.
func (c *cli) checkedStacks(ctx context.Context, path string) (*engine.Engine, []*spec.Stack, reconcile.Source, error) {
	stacks, src, err := c.loadStacks(ctx, path)
	if err != nil {
		return nil, nil, src, err
	}
	e, err := c.engine(ctx)
	if err != nil {
		return nil, nil, src, err
	}
	var all []string
	for _, err := range e.CheckStacks(stacks) {
		all = append(all, err.Error())
	}
	if len(all) > 0 {
		return nil, nil, src, errors.New(strings.Join(all, "\na3s-box: "))
	}
	return e, stacks, src, nil
}

func applyVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("apply", "apply -f FILE|DIR|- [OPTIONS]", "Make the machine match stack files (or compose files)")
	file := fs.StringP("file", "f", "", "Stack file, compose file, directory of them, or - for stdin")
	prune := fs.Bool("prune", false, "Remove boxes the stacks no longer have")
	wait := fs.Bool("wait", false, "Wait until every box runs, and is healthy where it has a health check")
	timeout := fs.Duration("timeout", 5*time.Minute, "How long --wait and depends_on conditions wait")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	// Everything is read and validated before anything changes.
	e, stacks, src, err := c.checkedStacks(ctx, *file)
	if err != nil {
		return err
	}
	o := engine.ReconcileOptions{Options: reconcile.Options{Prune: *prune}, Progress: c.stdout, DependTimeout: *timeout}
	var failed []string
	for _, s := range stacks {
		res, err := e.Apply(ctx, s, src, o)
		if res == nil {
			return err
		}
		if res.Result != nil {
			for _, o := range res.Orphans {
				fmt.Fprintf(c.stdout, " ? %s: kept, %s (apply --prune removes it)\n", o.BoxName(), o.Reason)
			}
			if len(res.Actions) == 0 && err == nil {
				fmt.Fprintf(c.stdout, "stack %s: up to date (generation %d)\n", s.Name, res.Generation)
			} else if err == nil {
				fmt.Fprintf(c.stdout, "stack %s: applied generation %d, %d actions%s\n", s.Name, res.Generation, len(res.Actions), map[bool]string{true: "", false: " (desired state unchanged)"}[res.Changed])
			}
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "a3s-box: stack %s: %v\n", s.Name, strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
			failed = append(failed, s.Name)
			continue
		}
		if *wait {
			if err := e.WaitStack(ctx, s, *timeout); err != nil {
				fmt.Fprintf(c.stderr, "a3s-box: stack %s: %v\n", s.Name, err)
				failed = append(failed, s.Name)
			}
		}
	}
	if len(failed) > 0 {
		return errPrinted
	}
	return nil
}

// planExit is plan's status when apply would change something, as
// terraform plan -detailed-exitcode: 0 nothing to do, 2 changes, 1 error.
const planExit = 2

func planVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("plan", "plan -f FILE|DIR|- [--prune]", "Show what apply would do, changing nothing (exit 0: nothing to do, 2: changes, 1: error)")
	file := fs.StringP("file", "f", "", "Stack file, compose file, directory of them, or - for stdin")
	prune := fs.Bool("prune", false, "Include the removal of boxes the stacks no longer have")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	e, stacks, _, err := c.checkedStacks(ctx, *file)
	if err != nil {
		return err
	}
	changes := 0
	for _, s := range stacks {
		actions, orphans, err := e.Plan(s, *prune)
		if err != nil {
			return err
		}
		if len(actions) == 0 {
			fmt.Fprintf(c.stdout, "stack %s: up to date\n", s.Name)
		}
		for _, a := range actions {
			fmt.Fprintf(c.stdout, "%-8s %s (%s)\n", a.Kind, a.BoxName(), a.Reason)
		}
		for _, o := range orphans {
			fmt.Fprintf(c.stdout, "keep     %s (%s; --prune removes it)\n", o.BoxName(), o.Reason)
		}
		changes += len(actions)
	}
	if changes > 0 {
		return &exitError{code: planExit}
	}
	return nil
}

func deleteVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("delete", "delete [-v] -f FILE|DIR|- | delete [-v] STACK...", "Remove the stacks of files (or named stacks) and the boxes they own")
	file := fs.StringP("file", "f", "", "Stack file, compose file, directory of them, or - for stdin")
	volumes := fs.BoolP("volumes", "v", false, "Remove the volumes the stacks made and their boxes' anonymous volumes too (external volumes stay)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	names := fs.Args()
	if *file != "" {
		stacks, _, err := c.loadStacks(ctx, *file)
		if err != nil {
			return err
		}
		for _, s := range stacks {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return errors.New("'a3s-box delete' needs -f FILE or stack names.\nSee 'a3s-box delete --help'.")
	}
	e, err := c.engine(ctx)
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if err := e.Delete(ctx, name, engine.DeleteOptions{ReconcileOptions: engine.ReconcileOptions{Progress: c.stdout}, Volumes: *volumes}); err != nil {
			fmt.Fprintf(c.stderr, "a3s-box: stack %s: %v\n", name, strings.ReplaceAll(err.Error(), "\n", "; "))
			failed = true
			continue
		}
		fmt.Fprintf(c.stdout, "stack %s: deleted\n", name)
	}
	if failed {
		return errPrinted
	}
	return nil
}

func stacksVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("stacks", "stacks [--format json]", "List stacks")
	format := fs.String("format", "", "json for one JSON record per line")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	e, err := c.engine(ctx)
	if err != nil {
		return err
	}
	recs, err := e.Stacks()
	if err != nil {
		return err
	}
	if *format == "json" {
		for _, r := range recs {
			b, _ := json.Marshal(r)
			fmt.Fprintln(c.stdout, string(b))
		}
		return nil
	}
	live, err := e.RunningByStack()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tBOXES\tGENERATION\tOBSERVED\tSTATUS\tSOURCE")
	for _, r := range recs {
		running := live[r.Name]
		total := 0
		for _, b := range r.Stack.Boxes {
			total += b.Scale()
		}
		status := fmt.Sprintf("%d/%d running", running, total)
		if r.Status.Error != "" {
			status += " (error)"
		}
		src := r.Source.Kind
		if r.Source.Path != "" {
			src += " " + r.Source.Path
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", r.Name, len(r.Stack.Boxes), r.Generation, r.Status.ObservedGeneration, status, src)
	}
	return tw.Flush()
}

func stackVerb(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && (args[0] == "ls" || args[0] == "list") {
		return stacksVerb(ctx, c, args[1:])
	}
	if len(args) < 2 || args[0] != "inspect" {
		return errors.New("usage: a3s-box stack ls | a3s-box stack inspect STACK...")
	}
	e, err := c.engine(ctx)
	if err != nil {
		return err
	}
	var out []*reconcile.StackRecord
	for _, name := range args[1:] {
		r, err := e.Stack(name)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	b, _ := json.MarshalIndent(out, "", "    ")
	fmt.Fprintln(c.stdout, string(b))
	return nil
}
