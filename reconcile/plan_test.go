package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/runtime"
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
	o.State, o.ExitCode, o.StoppedByUser = runtime.StatusExited, code, byUser
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
	const running, created = runtime.StatusRunning, runtime.StatusCreated
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
		[]ObservedBox{seen("a", "old", runtime.StatusRunning), exited(seen("b", "h", ""), 3, "on-failure:5", false), seen("c", "x", runtime.StatusRunning)},
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
	observed := []ObservedBox{seen("old1", "o", runtime.StatusRunning), seen("old2", "o", runtime.StatusRunning)}
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
