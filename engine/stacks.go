package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
)

// Stacks: the declarative side. apply stores a stack's desired state and
// reconciles it; plan diffs without changing anything; delete tears a
// stack down. compose's verbs are the same operations on the stack named
// after the project.

// ReconcileOptions tune how a reconcile carries out its plan.
type ReconcileOptions struct {
	reconcile.Options
	// Progress gets one line per action as it starts and ends; nil for
	// none.
	Progress io.Writer
	// DependTimeout bounds the wait for a dependency's condition; 0 is
	// five minutes.
	DependTimeout time.Duration
	// StopTimeout, when set, is the grace period in seconds of stops
	// (negative: each box's own), and makes removals and recreations stop
	// a running box first, as compose does; otherwise they kill it.
	StopTimeout *int
}

func (e *Engine) executor(o ReconcileOptions) *reconcile.Executor {
	return &reconcile.Executor{RT: e.rr, Progress: o.Progress, DependTimeout: o.DependTimeout, StopTimeout: o.StopTimeout}
}

// Stacks lists the stored stacks, by name.
func (e *Engine) Stacks() ([]*reconcile.StackRecord, error) { return e.store.List() }

// Stack returns a stored stack's record; the error wraps
// reconcile.ErrNoStack when there is none.
func (e *Engine) Stack(name string) (*reconcile.StackRecord, error) { return e.store.Get(name) }

// RunningByStack counts, by stack, the boxes that run now, as the
// planner sees them (paused and restarting boxes run): what `stacks`
// shows, so that a box whose VM died counts at once rather than at the
// next reconcile.
func (e *Engine) RunningByStack() (map[string]int, error) {
	observed, err := reconcile.Observe(e.rr, nil)
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, ob := range observed {
		if ob.State == spec.StatusRunning {
			n[ob.Stack]++
		}
	}
	return n, nil
}

// CheckStacks reports, one error each, what would make an apply of stacks
// fail before it changed anything: external volumes that do not exist.
func (e *Engine) CheckStacks(stacks []*spec.Stack) []error {
	var all []error
	for _, s := range stacks {
		all = append(all, spec.Errors(reconcile.MissingVolumes(e.rr, s))...)
	}
	return all
}

// ApplyResult is what an apply of one stack did.
type ApplyResult struct {
	*reconcile.Result
	Generation int64
	// Changed says whether the desired state changed.
	Changed bool
}

// Apply makes s, read from src, its stack's whole desired state and
// reconciles the stack: what `apply` and `compose up` do. The result is
// there even when the reconcile failed part way.
func (e *Engine) Apply(ctx context.Context, s *spec.Stack, src reconcile.Source, o ReconcileOptions) (*ApplyResult, error) {
	l, err := e.lockStack(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	if err := e.repair(ctx); err != nil {
		return nil, err
	}
	rec, changed, err := e.store.Put(ctx, s, src)
	if err != nil {
		return nil, err
	}
	res, err := e.executor(o).ReconcileWith(ctx, e.store, s.Name, o.Options)
	return &ApplyResult{Result: res, Generation: rec.Generation, Changed: changed}, err
}

// Reconcile makes the machine match a stored stack's desired state.
func (e *Engine) Reconcile(ctx context.Context, name string, o ReconcileOptions) (*reconcile.Result, error) {
	l, err := e.lockStack(ctx, name)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	if err := e.repair(ctx); err != nil {
		return nil, err
	}
	return e.executor(o).ReconcileWith(ctx, e.store, name, o.Options)
}

// Plan is what an apply of s would do, changing nothing: the actions, and
// the orphans an apply without prune leaves.
func (e *Engine) Plan(s *spec.Stack, prune bool) (actions, orphans []reconcile.Action, err error) {
	observed, err := reconcile.Observe(e.rr, map[string]bool{s.Name: true})
	if err != nil {
		return nil, nil, err
	}
	actions = reconcile.Plan(reconcile.DesiredFromStack(s), observed)
	if !prune {
		actions, orphans = reconcile.SplitOrphans(actions)
	}
	return actions, orphans, nil
}

// WaitStack waits until every replica of every box of s runs, and is
// healthy where it has a health check, or has completed with status 0:
// apply --wait and compose up --wait.
func (e *Engine) WaitStack(ctx context.Context, s *spec.Stack, timeout time.Duration) error {
	return e.executor(ReconcileOptions{}).WaitStack(ctx, s, timeout)
}

// MarkStopped marks the boxes of only (all when nil) of a stored stack
// wanted stopped, or running, without touching them.
func (e *Engine) MarkStopped(ctx context.Context, name string, only map[string]bool, stopped bool) error {
	_, err := e.store.Update(ctx, name, func(r *reconcile.StackRecord) error {
		for box := range r.Stack.Boxes {
			if only == nil || only[box] {
				b := r.Boxes[box]
				b.Stopped = stopped
				r.Boxes[box] = b
			}
		}
		return nil
	})
	return err
}

// StopStack stops the boxes of only (all when nil) of a stored stack,
// dependents first, and marks them stopped in its desired state first,
// so that no reconcile undoes the stop: compose stop.
func (e *Engine) StopStack(ctx context.Context, name string, only map[string]bool, o ReconcileOptions) error {
	return e.startStop(ctx, name, only, reconcile.ActionStop, o)
}

// StartStack starts the existing boxes of only (all when nil) of a stored
// stack, dependencies first, waiting for their conditions; it creates
// none: compose start.
func (e *Engine) StartStack(ctx context.Context, name string, only map[string]bool, o ReconcileOptions) error {
	return e.startStop(ctx, name, only, reconcile.ActionStart, o)
}

func (e *Engine) startStop(ctx context.Context, name string, only map[string]bool, kind reconcile.ActionKind, o ReconcileOptions) error {
	if err := e.MarkStopped(ctx, name, only, kind == reconcile.ActionStop); err != nil {
		return err
	}
	o.Only, o.Kinds = only, map[reconcile.ActionKind]bool{kind: true}
	_, err := e.Reconcile(ctx, name, o)
	return err
}

// UpDependencies makes what box service of s depends on run as s says,
// without storing s, and waits for their conditions: compose run.
func (e *Engine) UpDependencies(ctx context.Context, s *spec.Stack, service string, o ReconcileOptions) error {
	deps := reconcile.WithDependencies(s, []string{service})
	delete(deps, service)
	if len(deps) == 0 {
		return nil
	}
	l, err := e.lockStack(ctx, s.Name)
	if err != nil {
		return err
	}
	defer l.Release()
	observed, err := reconcile.Observe(e.rr, map[string]bool{s.Name: true})
	if err != nil {
		return err
	}
	actions, _ := reconcile.Narrow(reconcile.Plan(reconcile.DesiredFromStack(s), observed), reconcile.Options{Only: deps})
	x := e.executor(o)
	if err := x.Execute(ctx, actions); err != nil {
		return err
	}
	return x.WaitFor(ctx, s.Name, s.Boxes[service].DependsOn)
}

// DeleteOptions are what `compose down` adds to a delete.
type DeleteOptions struct {
	ReconcileOptions
	// Keep spares the boxes it returns true for (compose down without
	// --remove-orphans keeps the boxes of services the file no longer has).
	Keep func(reconcile.ObservedBox) bool
	// Volumes removes the stack's named volumes too, and its boxes'
	// anonymous ones (delete -v, compose down -v). External volumes stay.
	Volumes bool
	// OneOffs removes the one-off boxes of `compose run` for the project
	// first, stopping them with StopTimeout as its other boxes.
	OneOffs bool
}

// Delete removes a stack's boxes (dependents first), then its volumes if
// asked, its networks, and its desired state. The error wraps
// reconcile.ErrNoStack when nothing of the stack exists.
func (e *Engine) Delete(ctx context.Context, name string, o DeleteOptions) error {
	l, err := e.lockStack(ctx, name)
	if err != nil {
		return err
	}
	defer l.Release()
	if err := e.repair(ctx); err != nil {
		return err
	}
	if o.OneOffs {
		if err := e.removeOneOffs(ctx, name, o.ReconcileOptions); err != nil {
			return err
		}
	}
	observed, err := reconcile.Observe(e.rr, map[string]bool{name: true})
	if err != nil {
		return err
	}
	rec, err := e.store.Get(name)
	if errors.Is(err, reconcile.ErrNoStack) && len(observed) == 0 && !(o.Volumes && e.stackHasVolumes(name)) {
		return err
	}
	if o.Keep != nil {
		observed = slices.DeleteFunc(observed, o.Keep)
	}
	stack := &spec.Stack{Name: name}
	if rec != nil {
		stack = &rec.Stack
	}
	x := e.executor(o.ReconcileOptions)
	// Anonymous volumes go with their boxes only when the named ones go too.
	x.RemoveVolumes = o.Volumes
	if err := x.Execute(ctx, reconcile.Teardown(stack, observed)); err != nil {
		return err
	}
	if o.Volumes {
		removed, err := reconcile.RemoveStackVolumes(ctx, e.rr, name)
		for _, v := range removed {
			progress(o.Progress, " ✔ volume %s: removed", v)
		}
		if err != nil {
			return err
		}
	}
	if err := reconcile.RemoveNetworks(ctx, e.rr, name); err != nil {
		return err
	}
	return e.store.Delete(ctx, name)
}

// removeOneOffs removes the one-off boxes of compose project name.
func (e *Engine) removeOneOffs(ctx context.Context, name string, o ReconcileOptions) error {
	boxes, err := e.rt.Boxes()
	if err != nil {
		return err
	}
	slices.SortFunc(boxes, func(a, b *runtime.Box) int { return strings.Compare(a.Name, b.Name) })
	stop := StopOptions{}
	if o.StopTimeout != nil && *o.StopTimeout >= 0 {
		stop.Timeout = o.StopTimeout
	}
	for _, b := range boxes {
		if b.Spec.Labels[reconcile.LabelProject] != name || b.Spec.Labels[reconcile.LabelOneoff] != "True" {
			continue
		}
		if err := e.Stop(ctx, b, stop); err != nil {
			return err
		}
		if err := e.Remove(ctx, b, RemoveOptions{Force: true}); err != nil && !errors.Is(err, runtime.ErrNoSuchBox) {
			return err
		}
		progress(o.Progress, " ✔ %s: removed", b.Name)
	}
	return nil
}

// stackHasVolumes reports whether volumes labelled as stack's remain, so
// that delete -v of a stack already deleted still removes them.
func (e *Engine) stackHasVolumes(stack string) bool {
	vols, _ := e.rt.Volumes.List()
	return slices.ContainsFunc(vols, func(v *volume.Volume) bool { return v.Labels[reconcile.LabelStack] == stack })
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
