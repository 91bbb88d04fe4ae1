package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
)

// Update applies `update`'s changes to box b and, when a stack owns the
// box alone (not one replica of several), to the stack's desired state
// too, like every imperative verb: the box's config hash label moves with
// its settings in the same write, so a later reconcile sees the box as
// the stack now wants it and keeps it. A replica's change stays the
// box's own, as Docker's update of one compose replica does; a note says
// so. Should a3s-box stop between the box's write and the stack's, the
// next reconcile finds the box's hash unlike the stack's and makes the
// box again as the stack says: the state converges either way.
func Update(ctx context.Context, rt *runtime.Runtime, store *reconcile.Store, b *runtime.Box, c runtime.Changes) (notes []string, err error) {
	stack, name, ok := reconcile.Owner(b.Spec.Labels)
	if !ok {
		return rt.Update(ctx, b.ID, c)
	}
	rec, err := store.Get(stack)
	if errors.Is(err, reconcile.ErrNoStack) {
		return rt.Update(ctx, b.ID, c)
	}
	if err != nil {
		return nil, err
	}
	want, ok := rec.Stack.Boxes[name]
	if !ok {
		return rt.Update(ctx, b.ID, c)
	}
	if stack != reconcile.ImplicitStack && want.Scale() > 1 {
		notes, err = rt.Update(ctx, b.ID, c)
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
	c.Label = &runtime.Label{Key: reconcile.LabelHash, Value: reconcile.ConfigHash(&s, name)}
	if notes, err = rt.Update(ctx, b.ID, c); err != nil {
		return nil, err
	}
	_, err = store.Update(ctx, stack, func(r *reconcile.StackRecord) error {
		bx, ok := r.Stack.Boxes[name]
		if !ok {
			return nil // the box left its stack meanwhile
		}
		c.Apply(&bx)
		r.Stack.Boxes[name] = bx
		return nil
	})
	if err != nil {
		return notes, fmt.Errorf("record the update of box %s in stack %s: %w", b.Name, stack, err)
	}
	return notes, nil
}
