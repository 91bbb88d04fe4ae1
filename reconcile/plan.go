package reconcile

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/a3s-box/a3s-box/spec"
)

// DesiredBox is one box as the desired state wants it: one replica of a
// stack's box.
type DesiredBox struct {
	Stack string
	Name  string // the box's name within its stack
	// Index is the replica's number, from 1 (0 counts as 1); the runtime
	// box is named ReplicaName(Stack, Name, Index).
	Index int
	Spec  spec.Box
	// Hash is ConfigHash of the box; Plan compares it with the observed
	// box's.
	Hash string
	// Stopped says the box should exist but not run (an imperative stop
	// or create).
	Stopped bool
	// Recreate asks for an existing box to be made again even though its
	// hash matches (compose up --force-recreate).
	Recreate bool
}

// ObservedBox is one box as the runtime reports it, for the stacks being
// reconciled.
type ObservedBox struct {
	Stack string
	Name  string // the box's name within its stack
	Index int    // the replica's number, from 1 (0 counts as 1)
	ID    string // the runtime's id, for the executor; Plan ignores it
	// Hash is the ConfigHash the box was made with.
	Hash string
	// State is spec.StatusCreated, StatusRunning or StatusExited.
	State    string
	ExitCode int
	// Restart is the policy the box runs under.
	Restart spec.RestartPolicy
	// StoppedByUser says the box exited because a user stopped it rather
	// than on its own.
	StoppedByUser bool
}

// ActionKind is what an action does to a box.
type ActionKind string

const (
	// ActionCreate creates the box, and starts it unless it is desired
	// stopped.
	ActionCreate ActionKind = "create"
	// ActionStart starts an existing box.
	ActionStart ActionKind = "start"
	// ActionStop stops a running box.
	ActionStop ActionKind = "stop"
	// ActionRecreate replaces a box whose config hash changed: stop and
	// remove the old one, create (and start) the new one.
	ActionRecreate ActionKind = "recreate"
	// ActionRemove stops and removes a box the desired state does not
	// have: an orphan (a box the stack no longer has), a replica beyond
	// the box's scale, or a second box of one replica.
	ActionRemove ActionKind = "remove"
)

// Action is one step of a plan.
type Action struct {
	Kind   ActionKind
	Stack  string
	Box    string // the box's name within its stack
	Index  int    // the replica's number, from 1
	Reason string
	// Orphan marks the removal of a box whose stack no longer has it at
	// all: an apply without --prune leaves those (SplitOrphans). Replicas
	// beyond the scale are removed either way.
	Orphan bool
	// Level is the box's depth in its stack's dependencies: 0 for a box
	// that depends on nothing, 1 + the highest level of its dependencies
	// otherwise (orphans: 0).
	Level    int
	Desired  *DesiredBox  // nil for ActionRemove
	Observed *ObservedBox // nil for ActionCreate
}

func (a Action) String() string {
	return fmt.Sprintf("%s %s: %s", a.Kind, a.target(), a.Reason)
}

// target names the action's box as stack/box, with the replica's number
// past the first: stack/box[2].
func (a Action) target() string {
	if replica(a.Index) > 1 {
		return fmt.Sprintf("%s/%s[%d]", a.Stack, a.Box, a.Index)
	}
	return a.Stack + "/" + a.Box
}

// BoxName is the runtime name of the box the action is about.
func (a Action) BoxName() string { return ReplicaName(a.Stack, a.Box, a.Index) }

// replica reads a replica number, 0 being the first.
func replica(i int) int { return max(i, 1) }

// teardown reports whether an action takes a box down: those run before
// the others, dependents first.
func (a Action) teardown() bool { return a.Kind == ActionStop || a.Kind == ActionRemove }

type boxKey struct{ stack, name string }

// replicaKey names one replica of a stack's box.
type replicaKey struct {
	stack, name string
	index       int
}

// Plan returns the actions that make observed match desired, each with
// its reason: boxes that stop or go away first, dependents before their
// dependencies, then boxes that are created, recreated or started,
// dependencies before their dependents. Nothing to do gives no actions.
//
// observed must hold the boxes of the stacks being reconciled: every one
// that desired does not name is an orphan and gets ActionRemove (see
// SplitOrphans to leave them). Replicas are boxes of their own: a box
// scaled up gets the missing numbers created, one scaled down loses its
// highest numbers (removed highest first), and a second observed box of
// one replica (left by a crash) is removed.
//
// An exited box is started again when its restart policy says so and no
// user stopped it: always and unless-stopped, and on-failure after a
// non-zero exit. A box that exited by itself under restart "no" is
// finished and left alone; one a user stopped is started, since the
// desired state wants it running (stopping it for good is an edit of the
// desired state: Stopped).
func Plan(desired []DesiredBox, observed []ObservedBox) []Action {
	levels := levelsOf(desired)
	obs := make(map[replicaKey]*ObservedBox, len(observed))
	var dups []*ObservedBox
	for i := range observed {
		o := &observed[i]
		k := replicaKey{o.Stack, o.Name, replica(o.Index)}
		if _, dup := obs[k]; dup {
			dups = append(dups, o)
			continue
		}
		obs[k] = o
	}
	var actions []Action
	want := make(map[replicaKey]bool, len(desired))
	scale := make(map[boxKey]int, len(desired)) // replicas wanted per box
	for i := range desired {
		d := &desired[i]
		if d.Spec.Scale() == 0 && d.Stack != ImplicitStack {
			// Scaled to zero: the stack still has the box, so its
			// replicas are scaled away rather than orphans.
			if _, ok := scale[boxKey{d.Stack, d.Name}]; !ok {
				scale[boxKey{d.Stack, d.Name}] = 0
			}
			continue
		}
		k := replicaKey{d.Stack, d.Name, replica(d.Index)}
		want[k] = true
		scale[boxKey{d.Stack, d.Name}]++
		o := obs[k]
		act := func(kind ActionKind, format string, args ...any) {
			actions = append(actions, Action{Kind: kind, Stack: d.Stack, Box: d.Name, Index: k.index,
				Reason: fmt.Sprintf(format, args...), Level: levels[boxKey{d.Stack, d.Name}], Desired: d, Observed: o})
		}
		switch {
		case o == nil && d.Stopped:
			act(ActionCreate, "not created yet (to stay stopped)")
		case o == nil:
			act(ActionCreate, "not created yet")
		case o.Hash != d.Hash:
			act(ActionRecreate, "config changed")
		case d.Recreate:
			act(ActionRecreate, "recreate forced")
		case d.Stopped:
			if o.State == spec.StatusRunning {
				act(ActionStop, "desired stopped")
			}
		case o.State == spec.StatusCreated:
			act(ActionStart, "created but not started")
		case o.State == spec.StatusExited:
			if why := restartReason(o); why != "" {
				act(ActionStart, "%s", why)
			}
		}
	}
	remove := func(o *ObservedBox, orphan bool, format string, args ...any) {
		actions = append(actions, Action{Kind: ActionRemove, Stack: o.Stack, Box: o.Name, Index: replica(o.Index),
			Reason: fmt.Sprintf(format, args...), Level: levels[boxKey{o.Stack, o.Name}], Orphan: orphan, Observed: o})
	}
	for i := range observed {
		o := &observed[i]
		k := replicaKey{o.Stack, o.Name, replica(o.Index)}
		n, wanted := scale[boxKey{o.Stack, o.Name}]
		switch {
		case want[k] || obs[k] != o:
		case wanted:
			remove(o, false, "scaled to %d", n)
		default:
			remove(o, true, "no longer in stack %s", o.Stack)
		}
	}
	for _, o := range dups {
		remove(o, false, "a second box of %s", ReplicaName(o.Stack, o.Name, o.Index))
	}
	slices.SortStableFunc(actions, order)
	return actions
}

// restartReason says why an exited box should run again, or "" when it
// should not.
func restartReason(o *ObservedBox) string {
	if o.StoppedByUser {
		return "stopped by hand; the desired state wants it running"
	}
	switch o.Restart.Name {
	case spec.RestartAlways, spec.RestartUnlessStopped:
		return fmt.Sprintf("exited with status %d; restart policy %s", o.ExitCode, o.Restart)
	case spec.RestartOnFailure:
		if o.ExitCode != 0 {
			return fmt.Sprintf("exited with status %d; restart policy %s", o.ExitCode, o.Restart)
		}
	}
	return ""
}

// order sorts teardowns first, highest level first, then the rest,
// lowest level first; by stack and box name within a level, and by
// replica number, highest first for teardowns.
func order(a, b Action) int {
	if a.teardown() != b.teardown() {
		if a.teardown() {
			return -1
		}
		return 1
	}
	byLevel := cmp.Compare(a.Level, b.Level)
	byIndex := cmp.Compare(replica(a.Index), replica(b.Index))
	if a.teardown() {
		byLevel, byIndex = -byLevel, -byIndex
	}
	return cmp.Or(byLevel, cmp.Compare(a.Stack, b.Stack), cmp.Compare(a.Box, b.Box), byIndex)
}

// Waves groups actions into the steps an executor runs one after the
// other; the actions of one wave do not depend on each other and may run
// in parallel. Actions come out in Plan's order.
func Waves(actions []Action) [][]Action {
	sorted := slices.Clone(actions)
	slices.SortStableFunc(sorted, order)
	var waves [][]Action
	for i, a := range sorted {
		if i == 0 || a.teardown() != sorted[i-1].teardown() || a.Level != sorted[i-1].Level {
			waves = append(waves, nil)
		}
		waves[len(waves)-1] = append(waves[len(waves)-1], a)
	}
	return waves
}

// SplitOrphans separates the removals of orphans from the other actions,
// for an apply without --prune, which leaves orphans in place.
func SplitOrphans(actions []Action) (rest, orphans []Action) {
	for _, a := range actions {
		if a.Orphan {
			orphans = append(orphans, a)
		} else {
			rest = append(rest, a)
		}
	}
	return rest, orphans
}

// levelsOf returns each desired box's level (see Action.Level), keyed by
// stack and name. depends_on names boxes of the same stack; a name that is
// not among desired, and the back edge of a cycle, are ignored (spec
// rejects both).
func levelsOf(desired []DesiredBox) map[boxKey]int {
	deps := make(map[boxKey][]string, len(desired))
	for _, d := range desired {
		for _, dep := range d.Spec.DependsOn {
			deps[boxKey{d.Stack, d.Name}] = append(deps[boxKey{d.Stack, d.Name}], dep.Name)
		}
	}
	exists := make(map[boxKey]bool, len(desired))
	for _, d := range desired {
		exists[boxKey{d.Stack, d.Name}] = true
	}
	levels := make(map[boxKey]int, len(desired))
	const visiting = -1
	var level func(k boxKey) int
	level = func(k boxKey) int {
		if l, ok := levels[k]; ok {
			return max(l, 0) // a cycle's back edge counts as level 0
		}
		levels[k] = visiting
		l := 0
		for _, dep := range deps[k] {
			if dk := (boxKey{k.stack, dep}); exists[dk] {
				l = max(l, level(dk)+1)
			}
		}
		levels[k] = l
		return l
	}
	for _, d := range desired {
		level(boxKey{d.Stack, d.Name})
	}
	return levels
}
