package reconcile

import (
	"strconv"

	"github.com/a3s-box/a3s-box/spec"
)

// Labels a3s-box sets on the boxes it makes for a stack: what ties a
// runtime box back to its place in the desired state. The compose labels
// let `ps --filter label=com.docker.compose.project=...` work as with
// Docker, and mark the one-off boxes of `compose run`, which belong to no
// desired state.
const (
	LabelStack   = spec.InternalLabelPrefix + "stack"
	LabelBox     = spec.InternalLabelPrefix + "box"
	LabelHash    = spec.InternalLabelPrefix + "config-hash"
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
func Observe(rt Runtime, stacks map[string]bool) ([]ObservedBox, error) {
	boxes, err := rt.Boxes()
	if err != nil {
		return nil, err
	}
	var out []ObservedBox
	for _, b := range boxes {
		stack, ok := b.Labels[LabelStack]
		if !ok || (stacks != nil && !stacks[stack]) || b.Labels[LabelOneoff] == "True" {
			continue
		}
		out = append(out, observed(b))
	}
	return out, nil
}

func observed(b *Box) ObservedBox {
	state := b.Status
	switch state {
	case spec.StatusPaused, spec.StatusRestarting:
		// The box's supervisor has it in hand.
		state = spec.StatusRunning
	case spec.StatusRemoving, spec.StatusDead:
		state = spec.StatusExited
	}
	// Boxes made before replicas were numbered are the first.
	n, _ := strconv.Atoi(b.Labels[LabelNumber])
	return ObservedBox{
		Stack: b.Labels[LabelStack], Name: b.Labels[LabelBox], Index: replica(n), ID: b.ID,
		Hash: b.Labels[LabelHash], State: state, ExitCode: b.ExitCode,
		Restart: b.Restart, StoppedByUser: b.ManualStop,
	}
}
