package engine

import (
	"context"
	"fmt"
	"io"
	"syscall"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

// Box finds a box by name, ID or unique ID prefix; the error wraps
// runtime.ErrNoSuchBox when there is none.
func (e *Engine) Box(ref string) (*runtime.Box, error) { return e.rt.Lookup(ref) }

// Boxes lists every box.
func (e *Engine) Boxes() ([]*runtime.Box, error) { return e.rt.Boxes() }

// ResolveImage finds ref in the local store, else pulls it, reporting
// the pull's progress to progress (nil for none).
func (e *Engine) ResolveImage(ctx context.Context, ref string, progress io.Writer) (*image.Image, error) {
	return e.rt.ResolveImage(ctx, ref, progress)
}

// ResolveImagePolicy finds or pulls ref's image as a --pull policy says
// (runtime.PullMissing, PullAlways, PullNever).
func (e *Engine) ResolveImagePolicy(ctx context.Context, ref, policy string, progress io.Writer) (*image.Image, error) {
	return e.rt.ResolveImagePolicy(ctx, ref, policy, progress)
}

// Create makes box b from img without starting it, as `create` does. The
// box joins the desired state (the implicit stack) wanted stopped, so a
// reconcile keeps it as it is until it is started; a box with AutoRemove
// stays out of it. img nil resolves b.Image.
func (e *Engine) Create(ctx context.Context, b *spec.Box, img *image.Image) (*runtime.Box, error) {
	return e.create(ctx, b, img, true, true)
}

// RunOptions say how Run starts its box.
type RunOptions struct {
	// Attach holds the main process until a client attaches (Attach), so
	// that none of its output is lost: a foreground run. Such a box
	// belongs to no desired state; a detached one joins the implicit
	// stack, wanted running.
	Attach bool
	// OneOff keeps a detached box out of the desired state too: compose
	// run's one-off boxes belong to no stack.
	OneOff bool
}

// Run makes box b from img and starts it, as `run` does. The box is nil
// when it could not be made. A failure to start is a *runtime.StartError
// when the command could not run (126, 127); the box is then left, as
// Docker leaves it. img nil resolves b.Image.
func (e *Engine) Run(ctx context.Context, b *spec.Box, img *image.Image, o RunOptions) (*runtime.Box, error) {
	box, err := e.create(ctx, b, img, !o.Attach && !o.OneOff, false)
	if err != nil {
		return nil, err
	}
	if err := e.rt.Start(ctx, box.ID, o.Attach); err != nil {
		return box, err
	}
	return box, nil
}

// create makes a box; with keep, the box joins the implicit stack
// (wanted stopped or not) once it is made. The record follows the box, so
// two creates of one name leave one box and one record: the one that
// lost the name (the runtime reserves it under its root lock) records
// nothing.
func (e *Engine) create(ctx context.Context, b *spec.Box, img *image.Image, keep, stopped bool) (*runtime.Box, error) {
	if img == nil {
		var err error
		if img, err = e.rt.ResolveImage(ctx, b.Image, nil); err != nil {
			return nil, err
		}
	}
	if !keep || b.AutoRemove {
		return e.rt.Create(ctx, b, img)
	}
	if err := e.repair(ctx); err != nil {
		return nil, err
	}
	if b.Name == "" {
		b.Name = e.rt.FreeName()
	} else if _, err := e.rt.Lookup(b.Name); err == nil {
		return nil, fmt.Errorf("%w: the box name %q is already in use; remove that box or choose another name", runtime.ErrNameInUse, b.Name)
	}
	desired := *b
	p, err := e.begin(ctx, intent{Op: opCreate, Stack: reconcile.ImplicitStack, Box: b.Name, Spec: &desired, Stopped: stopped})
	if err != nil {
		return nil, err
	}
	b.Labels = implicitLabels(b)
	box, err := e.rt.Create(ctx, b, img)
	if err != nil {
		p.done()
		return nil, err
	}
	return box, p.commit(ctx, e)
}

// Start starts a stopped box; with attach, its main process waits for a
// client (Attach) before it runs. The box's stack wants it running from
// then on.
func (e *Engine) Start(ctx context.Context, b *runtime.Box, attach bool) error {
	return e.edited(ctx, b, opStart, func() error { return e.rt.Start(ctx, b.ID, attach) })
}

// StopOptions are a stop's signal and grace period.
type StopOptions struct {
	// Signal is sent first; 0 is the box's stop signal.
	Signal syscall.Signal
	// Timeout is how many seconds the box has before it is killed, -1
	// for no limit; nil is the box's own stop timeout.
	Timeout *int
}

func (o StopOptions) timeout(b *runtime.Box) int {
	if o.Timeout != nil {
		return *o.Timeout
	}
	return runtime.StopTimeout(b)
}

// Stop stops a running box. A stop is an edit of the desired state: its
// stack wants it stopped, so no reconcile (the watcher's resync, the
// next apply of another change) starts it again.
func (e *Engine) Stop(ctx context.Context, b *runtime.Box, o StopOptions) error {
	return e.edited(ctx, b, opStop, func() error { return e.rt.Stop(ctx, b.ID, o.Signal, o.timeout(b)) })
}

// Restart stops a box and starts it again; its stack wants it running.
func (e *Engine) Restart(ctx context.Context, b *runtime.Box, o StopOptions) error {
	if err := e.rt.Stop(ctx, b.ID, o.Signal, o.timeout(b)); err != nil {
		return err
	}
	return e.Start(ctx, b, false)
}

// Kill sends sig to a box's main process.
func (e *Engine) Kill(ctx context.Context, b *runtime.Box, sig syscall.Signal) error {
	return e.rt.Kill(ctx, b.ID, sig)
}

// Pause freezes a box's processes and its VM's vCPUs.
func (e *Engine) Pause(ctx context.Context, b *runtime.Box) error { return e.rt.Pause(ctx, b.ID, true) }

// Unpause resumes a paused box.
func (e *Engine) Unpause(ctx context.Context, b *runtime.Box) error {
	return e.rt.Pause(ctx, b.ID, false)
}

// RemoveOptions are rm's.
type RemoveOptions struct {
	Force   bool // kill a running box first
	Volumes bool // take its anonymous volumes too
}

// Remove removes a box. It leaves the implicit stack with it; a stack
// box stays wanted by its stack, and the next apply makes it again, as
// compose does.
func (e *Engine) Remove(ctx context.Context, b *runtime.Box, o RemoveOptions) error {
	return e.edited(ctx, b, opRemove, func() error {
		if o.Volumes {
			return e.rt.RemoveWithVolumes(ctx, b.ID, o.Force)
		}
		return e.rt.Remove(ctx, b.ID, o.Force)
	})
}

// edited makes a box change and the desired-state edit that follows it.
func (e *Engine) edited(ctx context.Context, b *runtime.Box, op string, change func() error) error {
	stack, name := owner(b)
	if stack == "" {
		return change()
	}
	if err := e.repair(ctx); err != nil {
		return err
	}
	p, err := e.begin(ctx, intent{Op: op, Stack: stack, Box: name, ID: b.ID})
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		p.done()
		return err
	}
	return p.commit(ctx, e)
}

// Wait blocks until a box is down and returns its exit status.
func (e *Engine) Wait(ctx context.Context, b *runtime.Box) (int, error) { return e.rt.Wait(ctx, b.ID) }

// Rename gives a box a new name. A box of the implicit stack keeps its
// entry under its new name, and its label with it, so that a new box of
// the old name is another entry, not a second box of this one.
func (e *Engine) Rename(ctx context.Context, b *runtime.Box, name string) error {
	stack, old := owner(b)
	if stack != reconcile.ImplicitStack {
		return e.rt.Rename(ctx, b.ID, name)
	}
	if err := e.repair(ctx); err != nil {
		return err
	}
	p, err := e.begin(ctx, intent{Op: opRename, Stack: stack, Box: old, ID: b.ID, NewName: name})
	if err != nil {
		return err
	}
	if err := e.rt.Rename(ctx, b.ID, name); err != nil {
		p.done()
		return err
	}
	if _, err := e.rt.Update(ctx, b.ID, runtime.Changes{Label: &runtime.Label{Key: reconcile.LabelBox, Value: name}}); err != nil {
		p.done()
		return fmt.Errorf("rename box %s: %w", old, err)
	}
	return p.commit(ctx, e)
}
