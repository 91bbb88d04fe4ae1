package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// checkVolumes fails, naming each, when a stack's external volumes do
// not exist: apply would fail on them, so it changes nothing.
func (c *cli) checkVolumes(ctx context.Context, stacks []*spec.Stack) error {
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	var all []string
	for _, s := range stacks {
		for _, e := range spec.Errors(reconcile.MissingVolumes(engine.ReconcileRuntime(rt), s)) {
			all = append(all, e.Error())
		}
	}
	if len(all) > 0 {
		return errors.New(strings.Join(all, "\na3s-box: "))
	}
	return nil
}

func (c *cli) executor(ctx context.Context) (*reconcile.Executor, *reconcile.Store, error) {
	rt, err := c.runtime(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &reconcile.Executor{RT: engine.ReconcileRuntime(rt), Progress: c.stdout}, reconcile.NewStore(rt.Root()), nil
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
	stacks, src, err := c.loadStacks(ctx, *file)
	if err != nil {
		return err
	}
	if err := c.checkVolumes(ctx, stacks); err != nil {
		return err
	}
	e, store, err := c.executor(ctx)
	if err != nil {
		return err
	}
	e.DependTimeout = *timeout
	var failed []string
	for _, s := range stacks {
		rec, changed, err := store.Put(ctx, s, src)
		if err != nil {
			return err
		}
		res, err := e.Reconcile(ctx, store, s.Name, *prune)
		if res != nil {
			for _, o := range res.Orphans {
				fmt.Fprintf(c.stdout, " ? %s: kept, %s (apply --prune removes it)\n", o.BoxName(), o.Reason)
			}
			if len(res.Actions) == 0 && err == nil {
				fmt.Fprintf(c.stdout, "stack %s: up to date (generation %d)\n", s.Name, rec.Generation)
			} else if err == nil {
				fmt.Fprintf(c.stdout, "stack %s: applied generation %d, %d actions%s\n", s.Name, rec.Generation, len(res.Actions), map[bool]string{true: "", false: " (desired state unchanged)"}[changed])
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
	stacks, _, err := c.loadStacks(ctx, *file)
	if err != nil {
		return err
	}
	if err := c.checkVolumes(ctx, stacks); err != nil {
		return err
	}
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	changes := 0
	for _, s := range stacks {
		observed, err := reconcile.Observe(engine.ReconcileRuntime(rt), map[string]bool{s.Name: true})
		if err != nil {
			return err
		}
		actions := reconcile.Plan(reconcile.DesiredFromStack(s), observed)
		var orphans []reconcile.Action
		if !*prune {
			actions, orphans = reconcile.SplitOrphans(actions)
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
	e, store, err := c.executor(ctx)
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if err := deleteStack(ctx, c, e, store, name, deleteOptions{volumes: *volumes}); err != nil {
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

// deleteOptions are what `compose down` adds to a delete.
type deleteOptions struct {
	// keep spares the boxes it returns true for (compose down without
	// --remove-orphans keeps the boxes of services the file no longer has).
	keep func(reconcile.ObservedBox) bool
	// volumes removes the stack's named volumes too (compose down -v).
	volumes bool
}

// deleteStack removes a stack's boxes, then what else it owns, then its
// desired state.
func deleteStack(ctx context.Context, c *cli, e *reconcile.Executor, store *reconcile.Store, name string, o deleteOptions) error {
	observed, err := reconcile.Observe(e.RT, map[string]bool{name: true})
	if err != nil {
		return err
	}
	rec, err := store.Get(name)
	if errors.Is(err, reconcile.ErrNoStack) && len(observed) == 0 && !(o.volumes && stackHasVolumes(e.RT, name)) {
		return err
	}
	if o.keep != nil {
		observed = slices.DeleteFunc(observed, o.keep)
	}
	stack := &spec.Stack{Name: name}
	if rec != nil {
		stack = &rec.Stack
	}
	// Anonymous volumes go with their boxes only when the named ones go too.
	e.RemoveVolumes = o.volumes
	if err := e.Execute(ctx, reconcile.Teardown(stack, observed)); err != nil {
		return err
	}
	if err := removeStackResources(ctx, c, stack, o.volumes); err != nil {
		return err
	}
	if err := reconcile.RemoveNetworks(ctx, e.RT, name); err != nil {
		return err
	}
	return store.Delete(ctx, name)
}

// stackHasVolumes reports whether volumes labelled as stack's remain, so
// that delete -v of a stack already deleted still removes them.
func stackHasVolumes(rt reconcile.Runtime, stack string) bool {
	vols, _ := rt.Volumes()
	for _, v := range vols {
		if v.Labels[reconcile.LabelStack] == stack {
			return true
		}
	}
	return false
}

func stacksVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("stacks", "stacks [--format json]", "List stacks")
	format := fs.String("format", "", "json for one JSON record per line")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	recs, err := reconcile.NewStore(rt.Root()).List()
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
	tw := tabwriter.NewWriter(c.stdout, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tBOXES\tGENERATION\tOBSERVED\tSTATUS\tSOURCE")
	for _, r := range recs {
		running := 0
		for _, b := range r.Status.Boxes {
			if b.State == spec.StatusRunning {
				running++
			}
		}
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
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	store := reconcile.NewStore(rt.Root())
	var out []*reconcile.StackRecord
	for _, name := range args[1:] {
		r, err := store.Get(name)
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
