package reconcile

import (
	"context"
	"maps"

	"github.com/a3s-box/a3s-box/spec"
)

// Imperative verbs are edits of the desired state: `run -d` and `create`
// add a box to the implicit stack (ImplicitStack), `rm` takes it out, and
// `stop` and `start` mark it stopped or not (SetStopped). A reconcile of
// the implicit stack (the watcher's resync) then treats those boxes as it
// treats a stack's: a box whose supervisor died comes back if its policy
// says so. Boxes run with --rm are not part of it: they are gone once
// they end.

// Imperative returns the labels that tie a box made by an imperative verb
// to its entry in the implicit stack, and records the entry. b must carry
// its final name. stopped is true for `create`, which makes a box without
// starting it.
func Imperative(ctx context.Context, store *Store, b *spec.Box, stopped bool) (map[string]string, error) {
	if b.AutoRemove {
		return nil, nil
	}
	desired := *b
	rec, err := store.Update(ctx, ImplicitStack, func(r *StackRecord) error {
		if r.Stack.Boxes == nil {
			r.Stack.Boxes = map[string]spec.Box{}
		}
		r.Stack.Boxes[b.Name] = desired
		if r.Boxes == nil {
			r.Boxes = map[string]BoxEntry{}
		}
		r.Boxes[b.Name] = BoxEntry{Stopped: stopped}
		return nil
	})
	if err != nil {
		return nil, err
	}
	labels := maps.Clone(b.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelStack], labels[LabelBox], labels[LabelHash] = ImplicitStack, b.Name, rec.Boxes[b.Name].Hash
	return labels, nil
}

// Forget takes a removed box, labelled labels, out of the implicit
// stack. Boxes of other stacks stay in theirs: the stack still wants
// them, and the next apply makes them again, as compose does.
func Forget(ctx context.Context, store *Store, labels map[string]string) error {
	stack, name, ok := Owner(labels)
	if !ok || stack != ImplicitStack {
		return nil
	}
	return ForgetName(ctx, store, name)
}

// ForgetName takes box name out of the implicit stack: a create that
// failed leaves no trace.
func ForgetName(ctx context.Context, store *Store, name string) error {
	if _, err := store.Get(ImplicitStack); err != nil {
		return nil
	}
	_, err := store.Update(ctx, ImplicitStack, func(r *StackRecord) error {
		delete(r.Stack.Boxes, name)
		return nil
	})
	return err
}
