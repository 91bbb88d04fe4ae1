package main

import (
	"testing"
)

// TestKillThenRemove: kill returns once the box is down, so an rm right
// after it succeeds, as `docker kill X && docker rm X` does.
func TestKillThenRemove(t *testing.T) {
	needE2E(t)
	runDetached(t, "compat-kill", e2e.image, "sleep", "300")
	if r := a3s(t, "kill", "compat-kill"); r.code != 0 || r.stdout != "compat-kill\n" {
		t.Fatalf("kill: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := a3s(t, "rm", "compat-kill"); r.code != 0 || r.stdout != "compat-kill\n" {
		t.Fatalf("rm right after kill: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
