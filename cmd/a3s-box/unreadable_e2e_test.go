package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnreadableRecordKeepsBox damages the record of running boxes: each
// stays listed as unknown with the reason in inspect, its disk survives
// its supervisor's death and the repair that follows, rm without -f
// refuses, and rm -f removes it, stopping its VM.
func TestUnreadableRecordKeepsBox(t *testing.T) {
	needE2E(t)
	root := e2e.root
	ok(t, root, "run", "-d", "--name", "unr-dead", e2e.image, "sleep", "600")
	ok(t, root, "run", "-d", "--name", "unr-live", e2e.image, "sleep", "600")
	dead := strings.TrimSpace(ok(t, root, "inspect", "--format", "{{.Id}}", "unr-dead"))
	live := strings.TrimSpace(ok(t, root, "inspect", "--format", "{{.Id}}", "unr-live"))
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", dead[:12], live[:12]) })
	deadVMM, deadSup := boxPIDs(t, dead)
	liveVMM, _ := boxPIDs(t, live)
	for _, id := range []string{dead, live} {
		if err := os.WriteFile(filepath.Join(root, "boxes", id, "config.json"), []byte(`{"id": "trunc`), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	listed := func(id string) string {
		for _, line := range strings.Split(ok(t, root, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}"), "\n") {
			if rest, found := strings.CutPrefix(line, id+" "); found {
				return rest
			}
		}
		return ""
	}
	if s := listed(dead); s != "Unknown" {
		t.Fatalf("ps shows the damaged box as %q, want Unknown", s)
	}
	if ps := ok(t, root, "ps", "-q", "--no-trunc"); !strings.Contains(ps, live) {
		t.Fatalf("ps without -a hides the damaged running box: %q", ps)
	}
	if s := strings.TrimSpace(ok(t, root, "inspect", "--format", "{{.State.Status}}: {{.State.Error}}", dead[:12])); !strings.HasPrefix(s, "unknown: ") || !strings.Contains(s, "cannot be read") {
		t.Fatalf("inspect: %q, want status unknown and the reason", s)
	}

	// Its supervisor dies: the next command's repair stops the VM and
	// keeps the box and its disk.
	if err := syscall.Kill(deadSup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the supervisor to go", func() bool { return syscall.Kill(deadSup, 0) != nil })
	if s := listed(dead); s != "Unknown" {
		t.Fatalf("after its supervisor died ps shows %q, want Unknown", s)
	}
	waitFor(t, 10*time.Second, "its VM stopped", func() bool { return syscall.Kill(deadVMM, 0) != nil })
	disk := filepath.Join(root, "boxes", dead, "rw.ext4")
	if _, err := os.Stat(disk); err != nil {
		t.Fatalf("the repair lost the box's disk: %v", err)
	}

	for _, id := range []string{dead, live} {
		r := a3sIn(t, root, "rm", id[:12])
		if r.code != 1 || !strings.Contains(r.stderr, "cannot be read") || !strings.Contains(r.stderr, "rm -f") {
			t.Fatalf("rm %s without -f: code %d stderr %q; want 1 and a line naming rm -f", id[:12], r.code, r.stderr)
		}
	}
	if _, err := os.Stat(disk); err != nil {
		t.Fatalf("rm without -f removed the disk: %v", err)
	}
	if r := a3sIn(t, root, "start", dead[:12]); r.code == 0 || !strings.Contains(r.stderr, "cannot be read") {
		t.Fatalf("start of a box without a record: code %d stderr %q", r.code, r.stderr)
	}

	ok(t, root, "rm", "-f", dead[:12], live[:12])
	waitFor(t, 10*time.Second, "the live box's VM stopped", func() bool { return syscall.Kill(liveVMM, 0) != nil })
	for _, id := range []string{dead, live} {
		if _, err := os.Stat(filepath.Join(root, "boxes", id)); !os.IsNotExist(err) {
			t.Errorf("rm -f left box %s's folder: %v", id[:12], err)
		}
		if s := listed(id); s != "" {
			t.Errorf("ps still lists box %s: %q", id[:12], s)
		}
	}
}
