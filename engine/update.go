package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
)

// Update changes a box's resources or restart policy, as `update` does.
// When a stack owns the box alone (not one replica of several), the
// stack's desired state takes the change too, like every imperative verb:
// the box's config hash label moves with its settings in the same write,
// so a later reconcile sees the box as the stack now wants it and keeps
// it. A replica's change stays the box's own, as Docker's update of one
// compose replica does; a note says so.
func (e *Engine) Update(ctx context.Context, b *runtime.Box, c runtime.Changes) (notes []string, err error) {
	stack, name := owner(b)
	if stack == "" {
		return e.rt.Update(ctx, b.ID, c)
	}
	if err := e.repair(ctx); err != nil {
		return nil, err
	}
	rec, err := e.store.Get(stack)
	if errors.Is(err, reconcile.ErrNoStack) {
		return e.rt.Update(ctx, b.ID, c)
	}
	if err != nil {
		return nil, err
	}
	want, ok := rec.Stack.Boxes[name]
	if !ok {
		return e.rt.Update(ctx, b.ID, c)
	}
	if stack != reconcile.ImplicitStack && want.Scale() > 1 {
		notes, err = e.rt.Update(ctx, b.ID, c)
		if err == nil {
			notes = append(notes, fmt.Sprintf("box %s is one of %d replicas of %s in stack %s: the stack's desired state keeps its settings", b.Name, want.Scale(), name, stack))
		}
		return notes, err
	}
	s := rec.Stack
	s.Boxes = maps.Clone(s.Boxes)
	changed := s.Boxes[name]
	c.Apply(&changed)
	s.Boxes[name] = changed
	hash := reconcile.ConfigHash(&s, name)
	c.Label = &runtime.Label{Key: reconcile.LabelHash, Value: hash}
	p, err := e.begin(ctx, intent{Op: opUpdate, Stack: stack, Box: name, ID: b.ID, Changes: &c, Hash: hash})
	if err != nil {
		return nil, err
	}
	if notes, err = e.rt.Update(ctx, b.ID, c); err != nil {
		p.done()
		return nil, err
	}
	return notes, p.commit(ctx, e)
}

// recordUpdate makes an update's changes to box name of stack.
func (e *Engine) recordUpdate(ctx context.Context, stack, name string, c runtime.Changes) error {
	_, err := e.store.Update(ctx, stack, func(r *reconcile.StackRecord) error {
		bx, ok := r.Stack.Boxes[name]
		if !ok {
			return nil // the box left its stack meanwhile
		}
		c.Apply(&bx)
		r.Stack.Boxes[name] = bx
		return nil
	})
	return err
}
