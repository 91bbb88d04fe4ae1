package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
)

// The fault-injection suite kills (SIGKILL) one process at a point of an
// operation: the CLI running it, the box's supervisor, its QEMU, or the
// watcher applying a stack. After each fault nothing may be lost or left
// unreadable (every state file parses, every listing verb works, every
// box listed has its inspect and logs, a volume keeps its data) and the
// next command repairs the rest: the operation, done again, succeeds.

// faultRig runs the suite's operations against one state root.
type faultRig struct {
	t        *testing.T
	root     string
	injected int
	survived int
	pending  bool // a fault injected since the last check
}

// fault counts one injected fault, for the next check to judge.
func (f *faultRig) fault() { f.injected, f.pending = f.injected+1, true }

// boxState reads a box's state file without repairing anything; nil
// when the box or its state is not there (yet).
func (f *faultRig) boxState(name string) *runtime.BoxState {
	r := a3sIn(f.t, f.root, "inspect", "--format", "{{.Id}}", name)
	if r.code != 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(f.root, "boxes", strings.TrimSpace(r.stdout), "state.json"))
	if err != nil {
		return nil
	}
	var st runtime.BoxState
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

// victim finds the process to kill; 0 while it is not there yet.
type victim func(f *faultRig, cli *exec.Cmd) int

func theCLI(_ *faultRig, cli *exec.Cmd) int { return cli.Process.Pid }

func supervisorOf(box string) victim {
	return func(f *faultRig, _ *exec.Cmd) int {
		if st := f.boxState(box); st != nil && st.SupervisorPID != 0 && syscall.Kill(st.SupervisorPID, 0) == nil {
			return st.SupervisorPID
		}
		return 0
	}
}

func qemuOf(box string) victim {
	return func(f *faultRig, _ *exec.Cmd) int {
		if st := f.boxState(box); st != nil && st.VMMPID != 0 && syscall.Kill(st.VMMPID, 0) == nil {
			return st.VMMPID
		}
		return 0
	}
}

// inject starts a3s-box args, waits until who is there, then after
// delay kills it, and waits for the CLI to end.
func (f *faultRig) inject(what string, who victim, delay time.Duration, args ...string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli := command(ctx, f.root, args...)
	out := &syncBuffer{}
	cli.Stdout, cli.Stderr = out, out
	if err := cli.Start(); err != nil {
		f.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cli.Wait() }()
	pid := 0
	for pid == 0 {
		select {
		case <-done:
			// The operation ended before its victim showed: no fault
			// was injected, and none is counted.
			f.t.Logf("fault %s: operation ended before the kill", what)
			return
		case <-time.After(20 * time.Millisecond):
			pid = who(f, cli)
		}
	}
	select {
	case <-done:
		f.t.Logf("fault %s: operation ended before the kill", what)
		return
	case <-time.After(delay):
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	f.fault()
	<-done
	f.t.Logf("fault %s: killed %d; a3s-box said %q", what, pid, lastLine(out.String()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// intact checks that a fault lost nothing and left nothing unreadable,
// the suite's volume included.
func (f *faultRig) intact(what string) {
	f.t.Helper()
	if _, err := os.Stat(filepath.Join(f.root, "volumes", "fi-data", "_data", "marker")); err != nil {
		f.t.Errorf("after %s: the volume lost its data: %v", what, err)
	}
	f.intactNoVolume(what)
}

func (f *faultRig) intactNoVolume(what string) {
	f.t.Helper()
	t := f.t
	bad := false
	errorf := func(format string, args ...any) {
		t.Helper()
		bad = true
		t.Errorf("after "+what+": "+format, args...)
	}
	_ = filepath.Walk(f.root, func(p string, fi os.FileInfo, err error) error {
		// A box's log.json is JSON lines, whose last line a killed writer
		// may cut: logs reads it (below).
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".json") || strings.HasPrefix(fi.Name(), ".") || fi.Name() == "log.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !json.Valid(b) {
			errorf("state file %s unreadable (%v)", p, err)
		}
		return nil
	})
	for _, verb := range [][]string{{"ps", "-a"}, {"images"}, {"volume", "ls"}, {"network", "ls"}, {"stacks"}} {
		if r := a3sIn(t, f.root, verb...); r.code != 0 {
			errorf("%v: exit %d %s", verb, r.code, r.stderr)
		}
	}
	names := strings.Fields(ok(t, f.root, "ps", "-a", "--format", "{{.Names}}"))
	for _, n := range names {
		for _, verb := range [][]string{{"inspect", n}, {"logs", n}} {
			if r := a3sIn(t, f.root, verb...); r.code != 0 {
				errorf("%v: exit %d %s", verb, r.code, r.stderr)
			}
		}
		if st := f.boxState(n); st == nil {
			errorf("box %s has no readable state", n)
		}
	}
	if !bad && f.pending {
		f.survived++
	}
	f.pending = false
}

func (f *faultRig) must(args ...string) string {
	f.t.Helper()
	return ok(f.t, f.root, args...)
}

func TestFaultInjection(t *testing.T) {
	needE2E(t)
	f := &faultRig{t: t, root: t.TempDir()}
	defer func() {
		t.Logf("faults injected: %d, survived: %d", f.injected, f.survived)
		for _, n := range strings.Fields(a3sIn(t, f.root, "ps", "-a", "-q").stdout) {
			a3sIn(t, f.root, "rm", "-f", n)
		}
		a3sIn(t, f.root, "delete", "fis")
	}()
	img := e2e.image
	f.must("run", "--rm", "-v", "fi-data:/data", img, "sh", "-c", "echo kept > /data/marker")
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }

	// run -d: the CLI during create and boot, the supervisor and QEMU
	// while the guest boots and once it runs.
	for _, c := range []struct {
		who   string
		v     victim
		delay time.Duration
	}{
		{"cli", theCLI, ms(100)}, {"cli", theCLI, ms(700)}, {"cli", theCLI, ms(1500)},
		{"supervisor", supervisorOf("fi-run"), 0}, {"supervisor", supervisorOf("fi-run"), ms(1500)},
		{"qemu", qemuOf("fi-run"), 0}, {"qemu", qemuOf("fi-run"), ms(1500)},
	} {
		what := fmt.Sprintf("run -d, %s killed after %s", c.who, c.delay)
		f.inject(what, c.v, c.delay, "run", "-d", "--name", "fi-run", "-v", "fi-data:/data", img, "sleep", "600")
		f.intact(what)
		f.must("rm", "-f", "fi-run")
		f.must("run", "-d", "--name", "fi-run", "-v", "fi-data:/data", img, "sleep", "600")
		if got := strings.TrimSpace(f.must("exec", "fi-run", "cat", "/data/marker")); got != "kept" {
			t.Errorf("after %s: the volume reads %q in a new box", what, got)
		}
		f.must("rm", "-f", "fi-run")
	}

	// apply: a stack of two boxes, a network and the volume.
	stack := filepath.Join(t.TempDir(), "fis.yaml")
	writeStack(t, stack, "name: fis\nnetworks:\n  back: {}\nvolumes:\n  fi-data:\n    external: true\nboxes:\n"+
		"  db:\n    image: IMAGE\n    command: [\"sleep\", \"600\"]\n    networks: [back]\n    volumes: [\"fi-data:/data\"]\n"+
		"  app:\n    image: IMAGE\n    command: [\"sleep\", \"600\"]\n    networks: [back]\n")
	converged := func(what string) {
		t.Helper()
		f.must("apply", "-f", stack)
		for _, b := range []string{"fis-db-1", "fis-app-1"} {
			if st := f.boxState(b); st == nil || st.Status != "running" {
				t.Errorf("after %s and a new apply: %s is not running", what, b)
			}
		}
	}
	for _, c := range []struct {
		who   string
		v     victim
		delay time.Duration
	}{
		{"cli", theCLI, ms(200)}, {"cli", theCLI, ms(1000)}, {"cli", theCLI, ms(2500)},
		{"supervisor", supervisorOf("fis-db-1"), 0}, {"qemu", qemuOf("fis-app-1"), 0},
	} {
		what := fmt.Sprintf("apply, %s killed after %s", c.who, c.delay)
		f.inject(what, c.v, c.delay, "apply", "-f", stack)
		f.intact(what)
		converged(what)
		f.must("delete", "fis")
	}

	// cp both ways and commit on a running box, stop with a grace period.
	f.must("run", "-d", "--name", "fi-cp", img, "sleep", "600")
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 160<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ensureRunning := func() {
		t.Helper()
		if st := f.boxState("fi-cp"); st == nil || st.Status != "running" {
			f.must("start", "fi-cp")
		}
	}
	out := t.TempDir()
	for i, c := range []struct {
		op    string
		who   string
		v     victim
		delay time.Duration
	}{
		{"cp in", "cli", theCLI, ms(60)}, {"cp in", "cli", theCLI, ms(250)},
		{"cp in", "qemu", qemuOf("fi-cp"), ms(150)}, {"cp in", "supervisor", supervisorOf("fi-cp"), ms(150)},
		{"cp out", "cli", theCLI, ms(150)}, {"cp out", "qemu", qemuOf("fi-cp"), ms(150)},
		{"commit", "cli", theCLI, ms(100)}, {"commit", "cli", theCLI, ms(400)}, {"commit", "qemu", qemuOf("fi-cp"), ms(200)},
	} {
		ensureRunning()
		what := fmt.Sprintf("%s, %s killed after %s", c.op, c.who, c.delay)
		tag := fmt.Sprintf("fi/commit:%d", i)
		var args []string
		switch c.op {
		case "cp in":
			args = []string{"cp", big, "fi-cp:/root/big"}
		case "cp out":
			if f.boxState("fi-cp") != nil {
				a3sIn(t, f.root, "cp", big, "fi-cp:/root/big")
			}
			args = []string{"cp", "fi-cp:/root/big", filepath.Join(out, "big")}
		case "commit":
			args = []string{"commit", "fi-cp", tag}
		}
		f.inject(what, c.v, c.delay, args...)
		f.intact(what)
		if c.op == "commit" && a3sIn(t, f.root, "image", "inspect", tag).code == 0 {
			// An image that is listed is whole.
			f.must("run", "--rm", tag, "true")
		}
		ensureRunning()
		f.must(args...)
		switch c.op {
		case "cp in":
			if got := strings.TrimSpace(f.must("exec", "fi-cp", "stat", "-c", "%s", "/root/big")); got != fmt.Sprint(160<<20) {
				t.Errorf("after %s and a new cp: the box's copy has %s bytes", what, got)
			}
		case "cp out":
			if fi, err := os.Stat(filepath.Join(out, "big")); err != nil || fi.Size() != 160<<20 {
				t.Errorf("after %s and a new cp: the host's copy is %v %v", what, fi, err)
			}
		case "commit":
			f.must("run", "--rm", tag, "true")
		}
	}
	f.must("rm", "-f", "fi-cp")

	for _, c := range []struct {
		who   string
		v     victim
		delay time.Duration
	}{
		{"cli", theCLI, ms(500)}, {"supervisor", supervisorOf("fi-stop"), ms(200)}, {"qemu", qemuOf("fi-stop"), ms(200)},
	} {
		// A stop signal the box ignores: stop waits out its grace period.
		f.must("run", "-d", "--name", "fi-stop", "--stop-signal", "SIGWINCH", img, "sleep", "600")
		what := fmt.Sprintf("stop, %s killed", c.who)
		// The victim is found first, then stop starts: the kill falls in
		// the grace period.
		f.inject(what, c.v, c.delay+ms(300), "stop", "-t", "3", "fi-stop")
		f.intact(what)
		f.must("stop", "-t", "1", "fi-stop")
		if st := f.boxState("fi-stop"); st == nil || st.Status != "exited" {
			t.Errorf("after %s and a new stop: the box is not exited", what)
		}
		f.must("start", "fi-stop")
		f.must("rm", "-f", "fi-stop")
	}

	// The watcher, killed while it applies; the next one converges.
	dir := t.TempDir()
	for _, delay := range []time.Duration{ms(500), ms(2000)} {
		what := fmt.Sprintf("watch, watcher killed after %s", delay)
		watch := command(context.Background(), f.root, "watch", "--resync", "2s", dir)
		log := &syncBuffer{}
		watch.Stdout, watch.Stderr = log, log
		if err := watch.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the watcher to start", func() bool { return strings.Contains(log.String(), "watching") })
		writeStack(t, filepath.Join(dir, "fis.yaml"), strings.ReplaceAll(string(mustRead(t, stack)), e2e.image, "IMAGE"))
		time.Sleep(delay)
		f.fault()
		watch.Process.Kill()
		watch.Wait()
		f.intact(what)
		again := command(context.Background(), f.root, "watch", "--resync", "2s", dir)
		if err := again.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 90*time.Second, "a new watcher to converge", func() bool {
			db, app := f.boxState("fis-db-1"), f.boxState("fis-app-1")
			return db != nil && app != nil && db.Status == "running" && app.Status == "running"
		})
		again.Process.Kill()
		again.Wait()
		os.Remove(filepath.Join(dir, "fis.yaml"))
		f.must("delete", "fis")
	}
}
