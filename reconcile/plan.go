package reconcile

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// DesiredBox is one box as the desired state wants it.
type DesiredBox struct {
	Stack string
	Name  string // the box's name within its stack
	Spec  spec.Box
	// Hash is ConfigHash of the box; Plan compares it with the observed
	// box's.
	Hash string
	// Stopped says the box should exist but not run (an imperative stop
	// or create).
	Stopped bool
}

// ObservedBox is one box as the runtime reports it, for the stacks being
// reconciled.
type ObservedBox struct {
	Stack string
	Name  string // the box's name within its stack
	ID    string // the runtime's id, for the executor; Plan ignores it
	// Hash is the ConfigHash the box was made with.
	Hash string
	// State is runtime.StatusCreated, StatusRunning or StatusExited.
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
	// ActionRemove stops and removes an orphan: a box of a reconciled
	// stack that the stack no longer has.
	ActionRemove ActionKind = "remove"
)

// Action is one step of a plan.
type Action struct {
	Kind   ActionKind
	Stack  string
	Box    string // the box's name within its stack
	Reason string
	// Level is the box's depth in its stack's dependencies: 0 for a box
	// that depends on nothing, 1 + the highest level of its dependencies
	// otherwise (orphans: 0).
	Level    int
	Desired  *DesiredBox  // nil for ActionRemove
	Observed *ObservedBox // nil for ActionCreate
}

func (a Action) String() string {
	return fmt.Sprintf("%s %s/%s: %s", a.Kind, a.Stack, a.Box, a.Reason)
}

// teardown reports whether an action takes a box down: those run before
// the others, dependents first.
func (a Action) teardown() bool { return a.Kind == ActionStop || a.Kind == ActionRemove }

type boxKey struct{ stack, name string }

// Plan returns the actions that make observed match desired, each with
// its reason: boxes that stop or go away first, dependents before their
// dependencies, then boxes that are created, recreated or started,
// dependencies before their dependents. Nothing to do gives no actions.
//
// observed must hold the boxes of the stacks being reconciled: every one
// that desired does not name is an orphan and gets ActionRemove (see
// SplitOrphans to leave them).
//
// An exited box is started again when its restart policy says so and no
// user stopped it: always and unless-stopped, and on-failure after a
// non-zero exit. A box that exited by itself under restart "no" is
// finished and left alone; one a user stopped is started, since the
// desired state wants it running (stopping it for good is an edit of the
// desired state: Stopped).
func Plan(desired []DesiredBox, observed []ObservedBox) []Action {
	levels := levelsOf(desired)
	obs := make(map[boxKey]*ObservedBox, len(observed))
	for i := range observed {
		o := &observed[i]
		obs[boxKey{o.Stack, o.Name}] = o
	}
	var actions []Action
	want := make(map[boxKey]bool, len(desired))
	for i := range desired {
		d := &desired[i]
		k := boxKey{d.Stack, d.Name}
		want[k] = true
		o := obs[k]
		act := func(kind ActionKind, format string, args ...any) {
			actions = append(actions, Action{Kind: kind, Stack: d.Stack, Box: d.Name, Reason: fmt.Sprintf(format, args...),
				Level: levels[k], Desired: d, Observed: o})
		}
		switch {
		case o == nil && d.Stopped:
			act(ActionCreate, "not created yet (to stay stopped)")
		case o == nil:
			act(ActionCreate, "not created yet")
		case o.Hash != d.Hash:
			act(ActionRecreate, "config changed")
		case d.Stopped:
			if o.State == runtime.StatusRunning {
				act(ActionStop, "desired stopped")
			}
		case o.State == runtime.StatusCreated:
			act(ActionStart, "created but not started")
		case o.State == runtime.StatusExited:
			if why := restartReason(o); why != "" {
				act(ActionStart, "%s", why)
			}
		}
	}
	for i := range observed {
		o := &observed[i]
		if !want[boxKey{o.Stack, o.Name}] {
			actions = append(actions, Action{Kind: ActionRemove, Stack: o.Stack, Box: o.Name,
				Reason: fmt.Sprintf("no longer in stack %s", o.Stack), Observed: o})
		}
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
// lowest level first; by stack and box name within a level.
func order(a, b Action) int {
	if a.teardown() != b.teardown() {
		if a.teardown() {
			return -1
		}
		return 1
	}
	byLevel := cmp.Compare(a.Level, b.Level)
	if a.teardown() {
		byLevel = -byLevel
	}
	return cmp.Or(byLevel, cmp.Compare(a.Stack, b.Stack), cmp.Compare(a.Box, b.Box))
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
		if a.Kind == ActionRemove {
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
