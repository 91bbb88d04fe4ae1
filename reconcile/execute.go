package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/hashicorp/go-multierror"
)

// Executor carries out a plan on the runtime.
type Executor struct {
	RT *runtime.Runtime
	// Progress gets one line per action as it starts and ends; nil for
	// none.
	Progress io.Writer
	// DependTimeout bounds the wait for a dependency's condition
	// (healthy, completed) before a box starts.
	DependTimeout time.Duration
	// RemoveVolumes makes removals take the boxes' anonymous volumes
	// with them (delete -v).
	RemoveVolumes bool

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
					errs[i] = fmt.Errorf("%s %s/%s: %w", a.Kind, a.Stack, a.Box, err)
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
	name := BoxName(a.Stack, a.Box)
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
		return e.RT.Start(ctx, a.Observed.ID, false)
	case ActionStop:
		return e.stop(ctx, a.Observed.ID)
	case ActionRecreate:
		if err := e.RT.Remove(ctx, a.Observed.ID, true); err != nil {
			return err
		}
		return e.create(ctx, a.Desired)
	case ActionRemove:
		if e.RemoveVolumes {
			return e.RT.RemoveWithVolumes(ctx, a.Observed.ID, true)
		}
		return e.RT.Remove(ctx, a.Observed.ID, true)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func (e *Executor) stop(ctx context.Context, id string) error {
	b, err := e.RT.Lookup(id)
	if err != nil {
		return err
	}
	return e.RT.Stop(ctx, id, 0, runtime.StopTimeout(b))
}

// create makes the runtime box for d, labelled with its place in the
// desired state, and starts it unless d is to stay stopped.
func (e *Executor) create(ctx context.Context, d *DesiredBox) error {
	b := d.Spec
	b.Name = BoxName(d.Stack, d.Name)
	labels := map[string]string{}
	for k, v := range d.Spec.Labels {
		labels[k] = v
	}
	labels[LabelStack], labels[LabelBox], labels[LabelHash] = d.Stack, d.Name, d.Hash
	labels[LabelProject], labels[LabelService] = d.Stack, d.Name
	b.Labels = labels
	img, err := e.RT.ResolveImage(ctx, b.Image, nil)
	if err != nil {
		return err
	}
	box, err := e.RT.Create(ctx, &b, img)
	if err != nil {
		return err
	}
	if d.Stopped {
		return nil
	}
	if err := e.waitDependencies(ctx, d); err != nil {
		return err
	}
	return e.RT.Start(ctx, box.ID, false)
}

// waitDependencies waits until each box d depends on meets its condition.
func (e *Executor) waitDependencies(ctx context.Context, d *DesiredBox) error {
	if d == nil {
		return nil
	}
	timeout := e.DependTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	for _, dep := range d.Spec.DependsOn {
		if err := e.waitCondition(ctx, BoxName(d.Stack, dep.Name), dep.Condition, timeout); err != nil {
			return fmt.Errorf("depends on %s (%s): %w", dep.Name, dep.Condition, err)
		}
	}
	return nil
}

func (e *Executor) waitCondition(ctx context.Context, name, cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := e.RT.Lookup(name)
		if err != nil {
			return err
		}
		st := b.State
		switch cond {
		case spec.DependHealthy:
			if st.Health == nil && st.Running() && b.Health == nil {
				return fmt.Errorf("box %s has no health check", name)
			}
			if st.Running() && st.Health != nil && st.Health.Status == runtime.HealthHealthy {
				return nil
			}
		case spec.DependCompleted:
			if st.Status == runtime.StatusExited && !st.FinishedAt.IsZero() {
				if st.ExitCode != 0 {
					return fmt.Errorf("box %s exited with status %d", name, st.ExitCode)
				}
				return nil
			}
		default:
			if st.Running() || st.Status == runtime.StatusExited && !st.FinishedAt.IsZero() {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not met after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
