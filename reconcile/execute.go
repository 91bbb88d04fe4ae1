package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Executor carries out a plan on the runtime.
type Executor struct {
	RT Runtime
	// Progress gets one line per action as it starts and ends; nil for
	// none.
	Progress io.Writer
	// DependTimeout bounds the wait for a dependency's condition
	// (healthy, completed) before a box starts.
	DependTimeout time.Duration
	// RemoveVolumes makes removals take the boxes' anonymous volumes
	// with them (delete -v).
	RemoveVolumes bool
	// StopTimeout, when set, is the grace period in seconds of stops
	// (negative: the box's own), and makes removals and recreations stop
	// a running box first, as compose does; otherwise they kill it.
	StopTimeout *int

	mu     sync.Mutex
	failed map[boxKey]bool
}

// ErrDependency is a box left alone because a box it depends on failed.
var ErrDependency = errors.New("dependency failed")

// Execute runs the actions wave by wave (Waves): the actions of one wave
// in parallel, the waves one after the other. It goes on past a failing
// box, skipping only what depends on it, and returns every failure.
func (e *Executor) Execute(ctx context.Context, actions []Action) error {
	e.failed = map[boxKey]bool{}
	var all *multierror.Error
	for _, wave := range Waves(actions) {
		var wg sync.WaitGroup
		errs := make([]error, len(wave))
		for i := range wave {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := wave[i]
				err := e.run(ctx, a)
				if err != nil {
					e.mu.Lock()
					e.failed[boxKey{a.Stack, a.Box}] = true
					e.mu.Unlock()
					errs[i] = fmt.Errorf("%s %s: %w", a.Kind, a.target(), err)
				}
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				all = multierror.Append(all, err)
			}
		}
	}
	return all.ErrorOrNil()
}

func (e *Executor) progress(format string, args ...any) {
	if e.Progress != nil {
		e.mu.Lock()
		fmt.Fprintf(e.Progress, format+"\n", args...)
		e.mu.Unlock()
	}
}

func (e *Executor) run(ctx context.Context, a Action) error {
	name := a.BoxName()
	if a.Desired != nil {
		for _, dep := range a.Desired.Spec.DependsOn {
			e.mu.Lock()
			bad := e.failed[boxKey{a.Stack, dep.Name}]
			e.mu.Unlock()
			if bad {
				e.progress(" ! %s: skipped, %s failed", name, dep.Name)
				return fmt.Errorf("%w: %s", ErrDependency, dep.Name)
			}
		}
	}
	e.progress(" - %s: %s (%s)", name, a.Kind, a.Reason)
	err := e.do(ctx, a)
	if err != nil {
		e.progress(" ! %s: %v", name, err)
		return err
	}
	e.progress(" ✔ %s: %s done", name, a.Kind)
	return nil
}

func (e *Executor) do(ctx context.Context, a Action) error {
	switch a.Kind {
	case ActionCreate:
		return e.create(ctx, a.Desired)
	case ActionStart:
		if err := e.waitDependencies(ctx, a.Desired); err != nil {
			return err
		}
		return e.RT.Start(ctx, a.Observed.ID)
	case ActionStop:
		return e.stop(ctx, a.Observed.ID)
	case ActionRecreate:
		if err := e.remove(ctx, a.Observed.ID); err != nil {
			return err
		}
		return e.create(ctx, a.Desired)
	case ActionRemove:
		return e.remove(ctx, a.Observed.ID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// remove removes box id, stopping it first when StopTimeout says so.
func (e *Executor) remove(ctx context.Context, id string) error {
	if e.StopTimeout != nil {
		if err := e.stop(ctx, id); err != nil {
			return err
		}
	}
	return e.RT.Remove(ctx, id, e.RemoveVolumes)
}

// stop stops box id with its stop signal and grace period, or
// StopTimeout's.
func (e *Executor) stop(ctx context.Context, id string) error {
	timeout := -1
	if e.StopTimeout != nil && *e.StopTimeout >= 0 {
		timeout = *e.StopTimeout
	}
	return e.RT.Stop(ctx, id, timeout)
}

// create makes the runtime box for d, labelled with its place in the
// desired state, and starts it unless d is to stay stopped.
func (e *Executor) create(ctx context.Context, d *DesiredBox) error {
	b := d.Spec
	b.Name = ReplicaName(d.Stack, d.Name, d.Index)
	labels := map[string]string{}
	for k, v := range d.Spec.Labels {
		labels[k] = v
	}
	labels[LabelStack], labels[LabelBox], labels[LabelHash] = d.Stack, d.Name, d.Hash
	labels[LabelProject], labels[LabelService] = d.Stack, d.Name
	labels[LabelNumber], labels[LabelOneoff] = strconv.Itoa(replica(d.Index)), "False"
	b.Labels = labels
	box, err := e.RT.Create(ctx, &b)
	if err != nil {
		return err
	}
	if d.Stopped {
		return nil
	}
	if err := e.waitDependencies(ctx, d); err != nil {
		return err
	}
	return e.RT.Start(ctx, box.ID)
}
