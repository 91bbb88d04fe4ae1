package engine

import (
	"context"
	"errors"
	"maps"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// The desired-state edits that follow the imperative verbs. `run -d` and
// `create` add a box to the implicit stack, `rm` takes it out, and `stop`
// and `start` mark a box of any stored stack stopped or wanted, so that
// no reconcile undoes a user's verb. Boxes run with --rm, and a
// foreground run, belong to no desired state: they are gone once they
// end.

// implicitLabels are the labels that tie box b to its entry in the
// implicit stack: its own, plus its place and config hash. The hash is
// the one the store computes when it records the entry.
func implicitLabels(b *spec.Box) map[string]string {
	s := spec.Stack{Name: reconcile.ImplicitStack, Boxes: map[string]spec.Box{b.Name: *b}}
	labels := maps.Clone(b.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[reconcile.LabelStack], labels[reconcile.LabelBox] = reconcile.ImplicitStack, b.Name
	labels[reconcile.LabelHash] = reconcile.ConfigHash(&s, b.Name)
	return labels
}

// recordBox makes b an entry of the implicit stack.
func (e *Engine) recordBox(ctx context.Context, b spec.Box, stopped bool) error {
	_, err := e.store.Update(ctx, reconcile.ImplicitStack, func(r *reconcile.StackRecord) error {
		if r.Stack.Boxes == nil {
			r.Stack.Boxes = map[string]spec.Box{}
		}
		r.Stack.Boxes[b.Name] = b
		if r.Boxes == nil {
			r.Boxes = map[string]reconcile.BoxEntry{}
		}
		r.Boxes[b.Name] = reconcile.BoxEntry{Stopped: stopped}
		return nil
	})
	return err
}

// forgetBox takes a removed box out of the implicit stack. Boxes of other
// stacks stay in theirs: the stack still wants them, and the next apply
// makes them again, as compose does.
func (e *Engine) forgetBox(ctx context.Context, stack, name string) error {
	if stack != reconcile.ImplicitStack {
		return nil
	}
	if _, err := e.store.Get(stack); err != nil {
		return nil
	}
	_, err := e.store.Update(ctx, stack, func(r *reconcile.StackRecord) error {
		delete(r.Stack.Boxes, name)
		return nil
	})
	return err
}

// renameBox moves a box's entry in the implicit stack to its new name.
func (e *Engine) renameBox(ctx context.Context, old, name string) error {
	_, err := e.store.Update(ctx, reconcile.ImplicitStack, func(r *reconcile.StackRecord) error {
		b, ok := r.Stack.Boxes[old]
		if !ok {
			return nil
		}
		delete(r.Stack.Boxes, old)
		b.Name = name
		r.Stack.Boxes[name] = b
		r.Boxes[name] = r.Boxes[old]
		return nil
	})
	return err
}

// markStopped records in a box's stack that a user stopped (or started)
// it, so that a later reconcile keeps it so. A box of no stored stack is
// left alone.
func (e *Engine) markStopped(ctx context.Context, stack, name string, stopped bool) error {
	if stack == "" {
		return nil
	}
	if _, err := e.store.Get(stack); errors.Is(err, reconcile.ErrNoStack) {
		return nil
	}
	_, err := e.store.Update(ctx, stack, func(r *reconcile.StackRecord) error {
		if _, ok := r.Stack.Boxes[name]; !ok {
			return nil
		}
		en := r.Boxes[name]
		en.Stopped = stopped
		r.Boxes[name] = en
		return nil
	})
	return err
}

// owner names the stack and stack box a runtime box was made for; empty
// for a box that belongs to none.
func owner(b *runtime.Box) (stack, name string) {
	return b.Spec.Labels[reconcile.LabelStack], b.Spec.Labels[reconcile.LabelBox]
}
