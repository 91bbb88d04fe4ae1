package runtime

import (
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

func TestShouldRestart(t *testing.T) {
	always := spec.RestartPolicy{Name: spec.RestartAlways}
	unless := spec.RestartPolicy{Name: spec.RestartUnlessStopped}
	onFail := spec.RestartPolicy{Name: spec.RestartOnFailure}
	onFail2 := spec.RestartPolicy{Name: spec.RestartOnFailure, MaxRetries: 2}
	tests := []struct {
		name     string
		p        spec.RestartPolicy
		code     int
		restarts int
		manual   bool
		want     bool
	}{
		{"no policy", spec.RestartPolicy{}, 1, 0, false, false},
		{"no", spec.RestartPolicy{Name: spec.RestartNo}, 1, 0, false, false},
		{"always after success", always, 0, 5, false, true},
		{"always after manual stop", always, 143, 0, true, false},
		{"unless-stopped", unless, 0, 0, false, true},
		{"unless-stopped after stop", unless, 0, 0, true, false},
		{"on-failure success", onFail, 0, 0, false, false},
		{"on-failure failure unbounded", onFail, 1, 100, false, true},
		{"on-failure:2 first", onFail2, 1, 0, false, true},
		{"on-failure:2 second", onFail2, 1, 1, false, true},
		{"on-failure:2 exhausted", onFail2, 1, 2, false, false},
	}
	for _, tt := range tests {
		if got := shouldRestart(tt.p, tt.code, tt.restarts, tt.manual); got != tt.want {
			t.Errorf("%s: shouldRestart = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	var b backoff
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		if got := b.next(time.Second); got != w {
			t.Fatalf("restart %d: delay %s, want %s", i, got, w)
		}
	}
	for i := 0; i < 20; i++ {
		b.next(time.Second)
	}
	if got := b.next(time.Second); got != backoffMax {
		t.Fatalf("delay grew to %s, want the cap %s", got, backoffMax)
	}
	if got := b.next(backoffReset); got != backoffStart {
		t.Fatalf("after a long run: delay %s, want %s", got, backoffStart)
	}
}
