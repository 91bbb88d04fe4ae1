package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const lockStack = `name: cca
networks:
  back: {}
boxes:
  web:
    image: IMAGE
    command: ["sleep", "1000"]
    networks: [back]
  job:
    image: IMAGE
    command: ["sleep", "1000"]
    networks: [back]
`

// Two applies of one stack at once: the second waits for the first and
// both succeed, instead of one failing on a network the other made; and
// `stacks` counts the boxes that really run, also after a VMM died.
func TestConcurrentApplies(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	file := filepath.Join(t.TempDir(), "cca.yaml")
	writeStack(t, file, lockStack)
	t.Cleanup(func() { a3sIn(t, root, "delete", "cca") })

	type out struct {
		code           int
		stdout, stderr string
	}
	outs := make([]out, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := command(ctx, root, "apply", "-f", file)
			var so, se bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &se
			err := cmd.Run()
			outs[i] = out{cmd.ProcessState.ExitCode(), so.String(), se.String()}
			if err != nil && cmd.ProcessState == nil {
				outs[i].stderr += err.Error()
			}
		}()
	}
	wg.Wait()
	for i, o := range outs {
		if o.code != 0 {
			t.Fatalf("apply %d of two at once: code %d\nstdout %s\nstderr %s", i, o.code, o.stdout, o.stderr)
		}
	}
	if !strings.Contains(outs[0].stderr+outs[1].stderr, "waiting for another a3s-box process") {
		t.Errorf("neither apply said it waited for the other: %q / %q", outs[0].stderr, outs[1].stderr)
	}
	if ids := strings.Fields(a3sIn(t, root, "ps", "-a", "-q").stdout); len(ids) != 2 {
		t.Fatalf("two applies made %d boxes, want 2", len(ids))
	}
	running := regexp.MustCompile(`(?m)^cca +2 .* 2/2 running`)
	if st := a3sIn(t, root, "stacks").stdout; !running.MatchString(st) {
		t.Fatalf("stacks after the applies: %q", st)
	}

	// A VMM dies: stacks says so at once, not at the next reconcile.
	pids := qemuPIDs(t, root)
	if len(pids) != 2 {
		t.Fatalf("%d QEMU processes, want 2", len(pids))
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := a3sIn(t, root, "stacks").stdout
		if regexp.MustCompile(`(?m)^cca +2 .* 1/2 running`).MatchString(st) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stacks 30 s after a VMM was killed: %q", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// With restart "no" the box stays exited, as Docker's would; starting
	// it counts it again.
	dead := strings.Fields(a3sIn(t, root, "ps", "-q", "--filter", "status=exited").stdout)
	if len(dead) != 1 {
		t.Fatalf("%d exited boxes after one VMM was killed, want 1", len(dead))
	}
	if r := a3sIn(t, root, "start", dead[0]); r.code != 0 {
		t.Fatalf("start after the kill: %d %s", r.code, r.stderr)
	}
	if st := a3sIn(t, root, "stacks").stdout; !running.MatchString(st) {
		t.Fatalf("stacks after the start: %q", st)
	}
}
