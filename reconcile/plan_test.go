package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

// box is a desired box of stack s with hash h, depending on deps.
func box(name, h string, deps ...string) DesiredBox {
	d := DesiredBox{Stack: "s", Name: name, Hash: h, Spec: spec.Box{Image: "busybox"}}
	for _, dep := range deps {
		d.Spec.DependsOn = append(d.Spec.DependsOn, spec.Dependency{Name: dep, Condition: spec.DependStarted})
	}
	return d
}

func seen(name, h, state string) ObservedBox {
	return ObservedBox{Stack: "s", Name: name, Hash: h, State: state}
}

func stopped(d DesiredBox) DesiredBox { d.Stopped = true; return d }

func exited(o ObservedBox, code int, restart string, byUser bool) ObservedBox {
	o.State, o.ExitCode, o.StoppedByUser = spec.StatusExited, code, byUser
	p, err := spec.ParseRestartPolicy(restart)
	if err != nil {
		panic(err)
	}
	o.Restart = p
	return o
}

// render writes a plan as "kind box (level)" lines for comparison.
func render(actions []Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, fmt.Sprintf("%s %s %d", a.Kind, a.Box, a.Level))
	}
	return out
}

func TestPlan(t *testing.T) {
	const running, created = spec.StatusRunning, spec.StatusCreated
	tests := []struct {
		name     string
		desired  []DesiredBox
		observed []ObservedBox
		want     []string
	}{
		{"nothing", nil, nil, nil},
		{"all up to date", []DesiredBox{box("a", "h1"), box("b", "h2", "a")},
			[]ObservedBox{seen("a", "h1", running), seen("b", "h2", running)}, nil},
		{"fresh stack in dependency order",
			[]DesiredBox{box("web", "w", "api"), box("api", "a", "db"), box("db", "d"), box("cache", "c")}, nil,
			[]string{"create cache 0", "create db 0", "create api 1", "create web 2"}},
		{"config changed", []DesiredBox{box("a", "new")}, []ObservedBox{seen("a", "old", running)},
			[]string{"recreate a 0"}},
		{"config changed while exited", []DesiredBox{box("a", "new")}, []ObservedBox{exited(seen("a", "old", ""), 0, "no", false)},
			[]string{"recreate a 0"}},
		{"created, never started", []DesiredBox{box("a", "h")}, []ObservedBox{seen("a", "h", created)},
			[]string{"start a 0"}},
		{"desired stopped while running", []DesiredBox{stopped(box("a", "h"))}, []ObservedBox{seen("a", "h", running)},
			[]string{"stop a 0"}},
		{"desired stopped and stopped", []DesiredBox{stopped(box("a", "h"))}, []ObservedBox{exited(seen("a", "h", ""), 0, "always", true)}, nil},
		{"desired stopped, not created", []DesiredBox{stopped(box("a", "h"))}, nil, []string{"create a 0"}},
		{"orphans removed first", []DesiredBox{box("a", "h")},
			[]ObservedBox{seen("a", "h", created), seen("gone", "x", running), exited(seen("old", "y", ""), 0, "no", false)},
			[]string{"remove gone 0", "remove old 0", "start a 0"}},
		{"stops in reverse dependency order", []DesiredBox{stopped(box("db", "d")), stopped(box("api", "a", "db")), box("web", "w", "api")},
			[]ObservedBox{seen("db", "d", running), seen("api", "a", running), seen("web", "w", running)},
			[]string{"stop api 1", "stop db 0"}},
		{"restart always after exit", []DesiredBox{box("a", "h")}, []ObservedBox{exited(seen("a", "h", ""), 137, "always", false)},
			[]string{"start a 0"}},
		{"unless-stopped after a crash", []DesiredBox{box("a", "h")}, []ObservedBox{exited(seen("a", "h", ""), 0, "unless-stopped", false)},
			[]string{"start a 0"}},
		{"on-failure after failure", []DesiredBox{box("a", "h")}, []ObservedBox{exited(seen("a", "h", ""), 1, "on-failure", false)},
			[]string{"start a 0"}},
		{"on-failure after success is finished", []DesiredBox{box("a", "h")}, []ObservedBox{exited(seen("a", "h", ""), 0, "on-failure", false)}, nil},
		{"restart no is finished", []DesiredBox{box("job", "h")}, []ObservedBox{exited(seen("job", "h", ""), 0, "no", false)}, nil},
		{"restart no, failed, is left", []DesiredBox{box("job", "h")}, []ObservedBox{exited(seen("job", "h", ""), 2, "", false)}, nil},
		{"stopped by hand, desired running", []DesiredBox{box("a", "h")}, []ObservedBox{exited(seen("a", "h", ""), 143, "no", true)},
			[]string{"start a 0"}},
		{"other stacks apart", []DesiredBox{box("a", "h"), {Stack: "t", Name: "a", Hash: "h"}},
			[]ObservedBox{seen("a", "h", running)}, []string{"create a 0"}},
		{"cycle does not hang", []DesiredBox{box("a", "h", "b"), box("b", "h", "a")}, nil,
			[]string{"create b 1", "create a 2"}},
		{"unknown dependency ignored", []DesiredBox{box("a", "h", "ghost")}, nil, []string{"create a 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(Plan(tt.desired, tt.observed))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPlanReasons(t *testing.T) {
	actions := Plan(
		[]DesiredBox{box("a", "new"), box("b", "h")},
		[]ObservedBox{seen("a", "old", spec.StatusRunning), exited(seen("b", "h", ""), 3, "on-failure:5", false), seen("c", "x", spec.StatusRunning)},
	)
	want := []string{
		"remove s/c: no longer in stack s",
		"recreate s/a: config changed",
		"start s/b: exited with status 3; restart policy on-failure:5",
	}
	var got []string
	for _, a := range actions {
		got = append(got, a.String())
		if a.Kind != ActionRemove && a.Desired == nil || a.Kind != ActionCreate && a.Observed == nil {
			t.Errorf("%s: desired %v, observed %v", a, a.Desired, a.Observed)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWaves(t *testing.T) {
	desired := []DesiredBox{
		box("db", "d"), box("cache", "c"), box("api", "a", "db", "cache"), box("worker", "w", "db"), box("web", "x", "api"),
		{Stack: "t", Name: "solo", Hash: "s"},
	}
	observed := []ObservedBox{seen("old1", "o", spec.StatusRunning), seen("old2", "o", spec.StatusRunning)}
	var got []string
	for _, wave := range Waves(Plan(desired, observed)) {
		var names []string
		for _, a := range wave {
			names = append(names, string(a.Kind)+" "+a.Stack+"/"+a.Box)
		}
		got = append(got, strings.Join(names, ", "))
	}
	want := []string{
		"remove s/old1, remove s/old2",
		"create s/cache, create s/db, create t/solo",
		"create s/api, create s/worker",
		"create s/web",
	}
	if !slices.Equal(got, want) {
		t.Errorf("waves:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rest, orphans := SplitOrphans(Plan(desired, observed))
	if len(orphans) != 2 || len(rest) != 6 {
		t.Errorf("SplitOrphans: %d rest, %d orphans", len(rest), len(orphans))
	}
}

// scaled is desired box name of stack s at n replicas, hash h.
func scaled(name, h string, n int, deps ...string) []DesiredBox {
	d := box(name, h, deps...)
	d.Spec.Replicas = &n
	s := &spec.Stack{Name: "s", Boxes: map[string]spec.Box{name: d.Spec}}
	rec := &StackRecord{Name: "s", Stack: *s, Boxes: map[string]BoxEntry{name: {Hash: h}}}
	return rec.Desired()
}

// seenN is replica n of an observed box.
func seenN(name, h string, n int, state string) ObservedBox {
	o := seen(name, h, state)
	o.Index = n
	return o
}

// renderReplicas writes a plan as "kind box-n (level) reason" lines.
func renderReplicas(actions []Action) []string {
	var out []string
	for _, a := range actions {
		orphan := ""
		if a.Orphan {
			orphan = " orphan"
		}
		out = append(out, fmt.Sprintf("%s %s %d%s: %s", a.Kind, a.BoxName(), a.Level, orphan, a.Reason))
	}
	return out
}

func TestPlanReplicas(t *testing.T) {
	const running = spec.StatusRunning
	join := func(lists ...[]DesiredBox) []DesiredBox { return slices.Concat(lists...) }
	tests := []struct {
		name     string
		desired  []DesiredBox
		observed []ObservedBox
		want     []string
	}{
		{"fresh, three replicas", scaled("web", "h", 3), nil, []string{
			"create s-web-1 0: not created yet", "create s-web-2 0: not created yet", "create s-web-3 0: not created yet"}},
		{"scale up from one", scaled("web", "h", 3), []ObservedBox{seenN("web", "h", 1, running)}, []string{
			"create s-web-2 0: not created yet", "create s-web-3 0: not created yet"}},
		{"old boxes without a number are the first", scaled("web", "h", 2), []ObservedBox{seenN("web", "h", 0, running)}, []string{
			"create s-web-2 0: not created yet"}},
		{"scale down removes the highest first", scaled("web", "h", 1),
			[]ObservedBox{seenN("web", "h", 2, running), seenN("web", "h", 1, running), seenN("web", "h", 4, running), seenN("web", "h", 3, running)},
			[]string{"remove s-web-4 0: scaled to 1", "remove s-web-3 0: scaled to 1", "remove s-web-2 0: scaled to 1"}},
		{"scale to zero", scaled("web", "h", 0),
			[]ObservedBox{seenN("web", "h", 1, running), seenN("web", "h", 2, running)},
			[]string{"remove s-web-2 0: scaled to 0", "remove s-web-1 0: scaled to 0"}},
		{"config change recreates every replica", scaled("web", "new", 2),
			[]ObservedBox{seenN("web", "old", 1, running), seenN("web", "old", 2, running)},
			[]string{"recreate s-web-1 0: config changed", "recreate s-web-2 0: config changed"}},
		{"scale down and change at once", scaled("web", "new", 1),
			[]ObservedBox{seenN("web", "old", 1, running), seenN("web", "old", 2, running)},
			[]string{"remove s-web-2 0: scaled to 1", "recreate s-web-1 0: config changed"}},
		{"a second box of one replica goes", scaled("web", "h", 1),
			[]ObservedBox{seenN("web", "h", 1, running), seenN("web", "h", 1, running)},
			[]string{"remove s-web-1 0: a second box of s-web-1"}},
		{"replicas of a dependency come first", join(scaled("db", "d", 2), scaled("api", "a", 2, "db")), nil, []string{
			"create s-db-1 0: not created yet", "create s-db-2 0: not created yet",
			"create s-api-1 1: not created yet", "create s-api-2 1: not created yet"}},
		{"dependents' replicas go first", join(scaled("db", "d", 1), scaled("api", "a", 1, "db")),
			[]ObservedBox{seenN("db", "d", 1, running), seenN("db", "d", 2, running), seenN("api", "a", 1, running), seenN("api", "a", 2, running)},
			[]string{"remove s-api-2 1: scaled to 1", "remove s-db-2 0: scaled to 1"}},
		{"recreate forced, hash unchanged", func() []DesiredBox {
			d := scaled("web", "h", 2)
			for i := range d {
				d[i].Recreate = true
			}
			return d
		}(), []ObservedBox{seenN("web", "h", 1, running), seenN("web", "h", 2, running)},
			[]string{"recreate s-web-1 0: recreate forced", "recreate s-web-2 0: recreate forced"}},
		{"exited replica restarts on its own", scaled("web", "h", 2),
			[]ObservedBox{seenN("web", "h", 1, running), exited(seenN("web", "h", 2, ""), 1, "on-failure", false)},
			[]string{"start s-web-2 0: exited with status 1; restart policy on-failure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderReplicas(Plan(tt.desired, tt.observed))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestNarrow(t *testing.T) {
	desired := slices.Concat(scaled("db", "d", 1), scaled("api", "new", 1, "db"), scaled("web", "w", 1))
	desired[1].Recreate = true
	observed := []ObservedBox{
		seenN("db", "d", 1, spec.StatusCreated), seenN("api", "old", 1, spec.StatusRunning),
		seenN("web", "w", 2, spec.StatusRunning), seenN("gone", "g", 1, spec.StatusRunning),
	}
	plan := Plan(desired, observed)
	tests := []struct {
		name    string
		o       Options
		want    []string
		orphans int
	}{
		{"everything but orphans", Options{}, []string{"remove s-web-2 0: scaled to 1", "start s-db-1 0: created but not started",
			"create s-web-1 0: not created yet", "recreate s-api-1 1: config changed"}, 1},
		{"prune", Options{Prune: true}, []string{"remove s-gone-1 0 orphan: no longer in stack s", "remove s-web-2 0: scaled to 1",
			"start s-db-1 0: created but not started", "create s-web-1 0: not created yet", "recreate s-api-1 1: config changed"}, 0},
		{"only some boxes", Options{Only: map[string]bool{"db": true}}, []string{"start s-db-1 0: created but not started"}, 1},
		{"only starts", Options{Kinds: map[ActionKind]bool{ActionStart: true}}, []string{"start s-db-1 0: created but not started"}, 1},
		{"no start", Options{NoStart: true, Only: map[string]bool{"db": true, "api": true}}, []string{"recreate s-api-1 1: config changed"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest, orphans := Narrow(plan, tt.o)
			if got := renderReplicas(rest); !slices.Equal(got, tt.want) || len(orphans) != tt.orphans {
				t.Errorf("got\n  %s\n%d orphans; want\n  %s\n%d orphans", strings.Join(got, "\n  "), len(orphans), strings.Join(tt.want, "\n  "), tt.orphans)
			}
			for _, a := range rest {
				if tt.o.NoStart && a.Desired != nil && !a.Desired.Stopped {
					t.Errorf("%s: would start with --no-start", a)
				}
			}
		})
	}
}

func TestStartOrderAndDependencies(t *testing.T) {
	s := &spec.Stack{Name: "s", Boxes: map[string]spec.Box{}}
	for _, d := range []DesiredBox{box("web", "", "api"), box("api", "", "db", "cache"), box("db", ""), box("cache", ""), box("lone", "")} {
		s.Boxes[d.Name] = d.Spec
	}
	if got, want := StartOrder(s), []string{"cache", "db", "lone", "api", "web"}; !slices.Equal(got, want) {
		t.Errorf("StartOrder = %v, want %v", got, want)
	}
	got := WithDependencies(s, []string{"api"})
	if len(got) != 3 || !got["api"] || !got["db"] || !got["cache"] {
		t.Errorf("WithDependencies(api) = %v", got)
	}
}

func TestTeardown(t *testing.T) {
	s := &spec.Stack{Name: "s", Boxes: map[string]spec.Box{}}
	for _, d := range []DesiredBox{box("web", "", "api"), box("api", "", "db"), box("db", "")} {
		s.Boxes[d.Name] = d.Spec
	}
	observed := []ObservedBox{seenN("db", "d", 1, spec.StatusRunning), seenN("web", "w", 1, spec.StatusRunning),
		seenN("web", "w", 2, spec.StatusRunning), seenN("api", "a", 1, spec.StatusRunning), seenN("old", "o", 1, spec.StatusExited)}
	var got []string
	for _, wave := range Waves(Teardown(s, observed)) {
		var names []string
		for _, a := range wave {
			names = append(names, a.BoxName())
		}
		got = append(got, strings.Join(names, " "))
	}
	want := []string{"s-web-2 s-web-1", "s-api-1", "s-db-1 s-old-1"}
	if !slices.Equal(got, want) {
		t.Errorf("waves %q, want %q", got, want)
	}
	if n := len(Teardown(nil, observed)); n != len(observed) {
		t.Errorf("without a stack: %d actions for %d boxes", n, len(observed))
	}
}
