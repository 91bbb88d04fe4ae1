package reconcile

import (
	"cmp"
	"slices"

	"github.com/a3s-box/a3s-box/spec"
)

// StartOrder returns a stack's box names in the order they start:
// dependencies before their dependents, by name within a level.
func StartOrder(s *spec.Stack) []string {
	var desired []DesiredBox
	for _, name := range s.BoxNames() {
		desired = append(desired, DesiredBox{Stack: s.Name, Name: name, Spec: s.Boxes[name]})
	}
	levels := levelsOf(desired)
	names := s.BoxNames()
	slices.SortStableFunc(names, func(a, b string) int {
		return cmp.Compare(levels[boxKey{s.Name, a}], levels[boxKey{s.Name, b}])
	})
	return names
}

// WithDependencies returns names and every box of s they depend on,
// directly or not, as a set.
func WithDependencies(s *spec.Stack, names []string) map[string]bool {
	set := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if set[n] {
			return
		}
		set[n] = true
		for _, d := range s.Boxes[n].DependsOn {
			add(d.Name)
		}
	}
	for _, n := range names {
		add(n)
	}
	return set
}

// Teardown is the plan that removes every observed box of stack s, as a
// delete of the stack does: dependents before their dependencies, the
// highest replica first. s may be nil (a stack whose desired state is
// gone), and then the boxes go all at once.
func Teardown(s *spec.Stack, observed []ObservedBox) []Action {
	actions := Plan(nil, observed)
	if s == nil {
		return actions
	}
	var desired []DesiredBox
	for _, name := range s.BoxNames() {
		desired = append(desired, DesiredBox{Stack: s.Name, Name: name, Spec: s.Boxes[name]})
	}
	levels := levelsOf(desired)
	for i := range actions {
		a := &actions[i]
		a.Level, a.Reason = levels[boxKey{a.Stack, a.Box}], "stack "+a.Stack+" deleted"
	}
	slices.SortStableFunc(actions, order)
	return actions
}
