package reconcile

import (
	"context"
	"errors"
	"strconv"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// Labels a3s-box sets on the boxes it makes for a stack: what ties a
// runtime box back to its place in the desired state. The compose labels
// let `ps --filter label=com.docker.compose.project=...` work as with
// Docker, and mark the one-off boxes of `compose run`, which belong to no
// desired state.
const (
	LabelStack   = "a3s-box.stack"
	LabelBox     = "a3s-box.box"
	LabelHash    = "a3s-box.config-hash"
	LabelProject = "com.docker.compose.project"
	LabelService = "com.docker.compose.service"
	LabelNumber  = "com.docker.compose.container-number"
	LabelOneoff  = "com.docker.compose.oneoff"
)

// ReplicaName is the runtime name of replica n of a stack's box, compose's
// <project>-<service>-<n>; a box of the implicit stack keeps its own.
func ReplicaName(stack, box string, n int) string {
	if stack == ImplicitStack {
		return box
	}
	return stack + "-" + box + "-" + strconv.Itoa(replica(n))
}

// BoxName is the runtime name of a stack box's first replica.
func BoxName(stack, box string) string { return ReplicaName(stack, box, 1) }

// Observe reports the runtime's boxes of the named stacks (all stacks when
// stacks is nil) as the planner takes them. One-off boxes (compose run)
// are no stack's replicas and are left out.
func Observe(rt *runtime.Runtime, stacks map[string]bool) ([]ObservedBox, error) {
	boxes, err := rt.Boxes()
	if err != nil {
		return nil, err
	}
	var out []ObservedBox
	for _, b := range boxes {
		stack, ok := b.Spec.Labels[LabelStack]
		if !ok || (stacks != nil && !stacks[stack]) || b.Spec.Labels[LabelOneoff] == "True" {
			continue
		}
		out = append(out, observed(b))
	}
	return out, nil
}

func observed(b *runtime.Box) ObservedBox {
	state := b.State.Status
	switch state {
	case spec.StatusPaused, spec.StatusRestarting:
		// The box's supervisor has it in hand.
		state = spec.StatusRunning
	case spec.StatusRemoving, spec.StatusDead:
		state = spec.StatusExited
	}
	// Boxes made before replicas were numbered are the first.
	n, _ := strconv.Atoi(b.Spec.Labels[LabelNumber])
	return ObservedBox{
		Stack: b.Spec.Labels[LabelStack], Name: b.Spec.Labels[LabelBox], Index: replica(n), ID: b.ID,
		Hash: b.Spec.Labels[LabelHash], State: state, ExitCode: b.State.ExitCode,
		Restart: b.Spec.Restart, StoppedByUser: b.State.ManualStop,
	}
}

// Owner names the stack and stack box a runtime box was made for; ok is
// false for a box made by an imperative verb.
func Owner(b *runtime.Box) (stack, box string, ok bool) {
	stack, ok = b.Spec.Labels[LabelStack]
	return stack, b.Spec.Labels[LabelBox], ok
}

// SetStopped records in a box's stack that a user stopped (or started)
// it, so that a later reconcile keeps it so rather than undoing the
// user's stop. A box that belongs to no stored stack is left alone.
func SetStopped(ctx context.Context, store *Store, b *runtime.Box, stopped bool) error {
	stack, name, ok := Owner(b)
	if !ok {
		return nil
	}
	if _, err := store.Get(stack); errors.Is(err, ErrNoStack) {
		return nil
	}
	_, err := store.Update(ctx, stack, func(r *StackRecord) error {
		if _, ok := r.Stack.Boxes[name]; !ok {
			return nil
		}
		e := r.Boxes[name]
		e.Stopped = stopped
		r.Boxes[name] = e
		return nil
	})
	return err
}
