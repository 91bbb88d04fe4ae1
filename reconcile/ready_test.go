package reconcile

import (
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

func TestReady(t *testing.T) {
	ended := time.Unix(1700000000, 0)
	running := Box{Name: "b", Status: spec.StatusRunning}
	paused := Box{Name: "b", Status: spec.StatusPaused}
	created := Box{Name: "b", Status: spec.StatusCreated}
	starting := Box{Name: "b", Status: spec.StatusRunning, HasHealthCheck: true, Health: spec.HealthStarting}
	healthy := Box{Name: "b", Status: spec.StatusRunning, HasHealthCheck: true, Health: spec.HealthHealthy}
	// A box whose health check has not reported yet.
	checked := Box{Name: "b", Status: spec.StatusRunning, HasHealthCheck: true}
	done := Box{Name: "b", Status: spec.StatusExited, FinishedAt: ended}
	failed := Box{Name: "b", Status: spec.StatusExited, FinishedAt: ended, ExitCode: 3}
	// Recorded exited, never run to an end.
	unfinished := Box{Name: "b", Status: spec.StatusExited}
	unfinishedFailed := Box{Name: "b", Status: spec.StatusExited, ExitCode: 1}

	for _, c := range []struct {
		cond    string
		box     Box
		ready   bool
		pending string
		err     string
	}{
		{spec.DependStarted, running, true, "", ""},
		{spec.DependStarted, paused, true, "", ""},
		{spec.DependStarted, done, true, "", ""},
		{spec.DependStarted, failed, true, "", ""},
		{spec.DependStarted, created, false, "b is created", ""},
		{spec.DependStarted, unfinished, false, "b is exited", ""},
		{"", running, true, "", ""},
		{spec.DependHealthy, healthy, true, "", ""},
		{spec.DependHealthy, starting, false, "b is not healthy yet", ""},
		{spec.DependHealthy, checked, false, "b is not healthy yet", ""},
		{spec.DependHealthy, created, false, "b is created", ""},
		{spec.DependHealthy, running, false, "", "box b has no health check"},
		{spec.DependCompleted, done, true, "", ""},
		{spec.DependCompleted, failed, false, "", "box b exited with status 3"},
		{spec.DependCompleted, running, false, "b is running", ""},
		{spec.DependCompleted, unfinished, false, "b is exited", ""},
		{ConditionUp, running, true, "", ""},
		{ConditionUp, paused, true, "", ""},
		{ConditionUp, healthy, true, "", ""},
		{ConditionUp, done, true, "", ""},
		{ConditionUp, starting, false, "b is not healthy yet", ""},
		{ConditionUp, checked, false, "b is not healthy yet", ""},
		{ConditionUp, created, false, "b is created", ""},
		{ConditionUp, unfinished, false, "b is exited", ""},
		{ConditionUp, failed, false, "", "box b exited with status 3"},
		{ConditionUp, unfinishedFailed, false, "", "box b exited with status 1"},
	} {
		b := c.box
		ready, err := Ready(&b, c.cond)
		pending, _ := readiness(&b, c.cond)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if ready != c.ready || gotErr != c.err || pending != c.pending {
			t.Errorf("%q of %+v: ready %v, pending %q, err %q; want %v, %q, %q", c.cond, c.box, ready, pending, gotErr, c.ready, c.pending, c.err)
		}
	}
}
