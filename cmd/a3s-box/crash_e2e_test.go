package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCrashBetweenBoxAndDesiredState kills a3s-box (SIGKILL, through the
// engine's crash points) between a box change and the desired-state edit
// that follows it, and checks that the next command, whatever it is, makes
// the desired state agree with what happened to the box.
func TestCrashBetweenBoxAndDesiredState(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	crashed := func(op string, args ...string) {
		t.Helper()
		r := call{root: root, env: []string{"A3S_BOX_TEST_CRASH=" + op}}.run(t, args...)
		if r.code != -1 {
			t.Fatalf("a3s-box %v with a crash at %s: exit %d, stderr %q; want killed", args, op, r.code, r.stderr)
		}
		if n := pendingIntents(t, root); n != 1 {
			t.Fatalf("after a crash at %s: %d intents left, want 1", op, n)
		}
	}
	// desired reads the implicit stack's record straight from disk, so
	// that reading it repairs nothing.
	desired := func() (boxes map[string]struct{ Stopped bool }) {
		t.Helper()
		var rec struct {
			Boxes map[string]struct{ Stopped bool } `json:"boxes"`
		}
		data, err := os.ReadFile(filepath.Join(root, "stacks", "_boxes.json"))
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		return rec.Boxes
	}
	next := func() {
		t.Helper()
		ok(t, root, "ps", "-a", "-q")
		if n := pendingIntents(t, root); n != 0 {
			t.Fatalf("after the next command: %d intents left, want 0", n)
		}
	}
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", "cr-a", "cr-b") })

	// create: the box was made, its record not written.
	crashed("create", "create", "--name", "cr-a", e2e.image, "sleep", "600")
	if _, in := desired()["cr-a"]; in {
		t.Fatal("the crashed create recorded its box: the crash came too late to test anything")
	}
	next()
	if e, in := desired()["cr-a"]; !in || !e.Stopped {
		t.Fatalf("after repair the implicit stack has cr-a %v (stopped %v); want it, stopped", in, e.Stopped)
	}

	// stop: the box stopped, its stack still wants it running.
	ok(t, root, "run", "-d", "--name", "cr-b", e2e.image, "sleep", "600")
	crashed("stop", "stop", "-t", "0", "cr-b")
	if desired()["cr-b"].Stopped {
		t.Fatal("the crashed stop recorded itself")
	}
	next()
	if !desired()["cr-b"].Stopped {
		t.Fatal("after repair the implicit stack wants cr-b running; want it stopped, as its user left it")
	}

	// rm, killed before the box change: nothing happened, nothing changes.
	crashed("remove:before", "rm", "cr-a")
	next()
	if _, in := desired()["cr-a"]; !in {
		t.Fatal("an rm that never removed its box took it out of the desired state")
	}
	ok(t, root, "inspect", "cr-a")

	// rm: the box is gone, the implicit stack still has it, and a
	// reconcile would make it again.
	crashed("remove", "rm", "cr-a")
	if _, in := desired()["cr-a"]; !in {
		t.Fatal("the crashed rm forgot its box")
	}
	next()
	if _, in := desired()["cr-a"]; in {
		t.Fatal("after repair the implicit stack still has the removed cr-a")
	}
}

func pendingIntents(t *testing.T, root string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, "intents", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestRenameMovesDesiredState renames a box of run -d/create and makes a
// new box under the old name: the two are two entries of the implicit
// stack, each labelled with its own, so no reconcile takes one for a
// second copy of the other.
func TestRenameMovesDesiredState(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", "rn-a", "rn-b") })
	ok(t, root, "create", "--name", "rn-a", e2e.image, "true")
	ok(t, root, "rename", "rn-a", "rn-b")
	ok(t, root, "create", "--name", "rn-a", e2e.image, "true")
	for _, name := range []string{"rn-a", "rn-b"} {
		if got := recordLabels(t, root, name)["a3s-box.box"]; got != name {
			t.Errorf("box %s is labelled as the implicit stack's %q", name, got)
		}
	}
	var rec struct {
		Boxes map[string]json.RawMessage `json:"boxes"`
	}
	data, err := os.ReadFile(filepath.Join(root, "stacks", "_boxes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if _, a := rec.Boxes["rn-a"]; !a || len(rec.Boxes) != 2 {
		t.Fatalf("implicit stack boxes %v; want rn-a and rn-b", rec.Boxes)
	}
}
