package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWatchDirectory(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	t.Cleanup(func() { a3s(t, "delete", "wst") })
	watch := command(t.Context(), e2e.root, "watch", "--resync", "2s", dir)
	log := &syncBuffer{}
	watch.Stdout, watch.Stderr = log, log
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	waitFor(t, 10*time.Second, "the watcher to start", func() bool { return strings.Contains(log.String(), "watching") })

	file := filepath.Join(dir, "sub", "wst.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	body := "name: wst\nboxes:\n  app:\n    image: IMAGE\n    command: [\"sleep\", \"1000\"]\n    restart: always\n    environment:\n      V: one\n"
	writeStack(t, file, body)
	running := func() bool {
		r := a3s(t, "inspect", "-f", "{{.State.Status}}", "wst-app-1")
		return r.code == 0 && strings.TrimSpace(r.stdout) == "running"
	}
	waitFor(t, 60*time.Second, "the stack to converge", running)
	first := field(t, "wst-app-1", "{{.Id}}")

	// An edit converges again.
	writeStack(t, file, strings.Replace(body, "V: one", "V: two", 1))
	waitFor(t, 60*time.Second, "the edit to converge", func() bool {
		r := a3s(t, "inspect", "-f", "{{.Id}} {{.State.Status}} {{json .Config.Env}}", "wst-app-1")
		return r.code == 0 && !strings.HasPrefix(r.stdout, first) && strings.Contains(r.stdout, "running") && strings.Contains(r.stdout, "V=two")
	})
	second := field(t, "wst-app-1", "{{.Id}}")

	// A stop by hand is an edit of the desired state: resyncs keep the
	// box stopped until a start.
	if r := a3s(t, "stop", "-t", "1", "wst-app-1"); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	time.Sleep(5 * time.Second) // two resyncs
	if got := field(t, "wst-app-1", "{{.State.Status}}"); got != "exited" {
		t.Fatalf("a box stopped by hand is %s after resyncs, want exited", got)
	}
	if r := a3s(t, "start", "wst-app-1"); r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}

	// A file that fails to parse is reported and changes nothing.
	writeStack(t, filepath.Join(dir, "broken.yaml"), "name: broken\nboxes:\n  x:\n    imag: IMAGE\n")
	waitFor(t, 20*time.Second, "the parse error in the log", func() bool {
		return strings.Contains(log.String(), "broken.yaml:4")
	})

	// The box's supervisor and VM killed behind a3s-box's back: the next
	// resync brings the box back.
	id := second
	_, pid := boxPIDs(t, id)
	if pid == 0 {
		t.Fatal("no supervisor pid recorded")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the supervisor to go", func() bool { return syscall.Kill(pid, 0) != nil })
	waitFor(t, 60*time.Second, "the box back up", func() bool {
		r := a3s(t, "inspect", "-f", "{{.State.Status}}", "wst-app-1")
		_, now := boxPIDs(t, id)
		return r.code == 0 && strings.HasPrefix(r.stdout, "running") && now != 0 && now != pid
	})

	// Deleting the file removes its stack and boxes.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the stack's boxes to go", func() bool {
		return a3s(t, "inspect", "wst-app-1").code == 1
	})

	// SIGTERM stops the watcher cleanly.
	if err := watch.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "stopped watching") {
		t.Fatalf("watch log:\n%s", log.String())
	}
}
