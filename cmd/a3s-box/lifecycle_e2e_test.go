package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// field runs inspect with a template on a box.
func field(t *testing.T, box, tmpl string) string {
	t.Helper()
	r := a3s(t, "inspect", "-f", tmpl, box)
	if r.code != 0 {
		t.Fatalf("inspect %s: code %d: %s", box, r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// runDetached starts a box with run -d and removes it when the test ends.
func runDetached(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := a3s(t, append([]string{"run", "-d", "--name", name}, args...)...)
	if r.code != 0 {
		t.Fatalf("run -d %s: code %d: %s", name, r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want a full 64-hex ID", id)
	}
	t.Cleanup(func() { a3s(t, "rm", "-f", name) })
	return id
}

// boxEvents lists the actions recorded for a box.
func boxEvents(t *testing.T, name string) []string {
	t.Helper()
	r := a3s(t, "events", "--since", "1h", "--until", "0s", "--filter", "container="+name, "--format", "{{.Action}}")
	if r.code != 0 {
		t.Fatalf("events: code %d: %s", r.code, r.stderr)
	}
	return strings.Fields(strings.ReplaceAll(r.stdout, "health_status: ", "health_status:"))
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestDetachedBoxStopSignalAndGrace(t *testing.T) {
	needE2E(t)
	script := `trap 'echo got usr1; exit 9' USR1; trap '' TERM; echo one; echo two >&2; echo three; while :; do sleep 0.1; done`
	id := runDetached(t, "lc-stop", "-l", "tier=test", e2e.image, "sh", "-c", script)

	ps := a3s(t, "ps", "--filter", "name=lc-stop", "--filter", "label=tier=test")
	if !strings.Contains(ps.stdout, id[:12]) || !regexp.MustCompile(`Up (Less than a second|\d+ seconds?)`).MatchString(ps.stdout) {
		t.Fatalf("ps does not show the box up:\n%s", ps.stdout)
	}
	if r := a3s(t, "ps", "-q", "--filter", "label=tier=other"); strings.Contains(r.stdout, id[:12]) {
		t.Fatalf("label filter matched another label: %q", r.stdout)
	}
	waitFor(t, 10*time.Second, "logs", func() bool { return strings.Contains(a3s(t, "logs", "lc-stop").stdout, "three") })
	logs := a3s(t, "logs", "lc-stop")
	if logs.stdout != "one\nthree\n" || logs.stderr != "two\n" {
		t.Fatalf("logs: stdout %q stderr %q; want the streams apart", logs.stdout, logs.stderr)
	}
	tail := a3s(t, "logs", "--tail", "1", "-t", "lc-stop")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z three\n$`).MatchString(tail.stdout) || tail.stderr != "" {
		t.Fatalf("logs --tail 1 -t: stdout %q stderr %q", tail.stdout, tail.stderr)
	}

	// logs -f follows until the box stops.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	follow := command(ctx, e2e.root, "logs", "-f", "lc-stop")
	var fout strings.Builder
	follow.Stdout = &fout
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}

	// stop -s takes the given signal.
	if r := a3s(t, "stop", "-s", "USR1", "lc-stop"); r.code != 0 || r.stdout != "lc-stop\n" {
		t.Fatalf("stop -s USR1: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if err := follow.Wait(); err != nil {
		t.Fatalf("logs -f: %v", err)
	}
	if !strings.HasSuffix(fout.String(), "got usr1\n") {
		t.Fatalf("logs -f saw %q, want it to end with the box's last line", fout.String())
	}
	if got := field(t, "lc-stop", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 9" {
		t.Fatalf("after stop -s USR1: %s, want exited 9", got)
	}
	if !strings.Contains(a3s(t, "ps", "-a", "--filter", "name=lc-stop").stdout, "Exited (9)") {
		t.Fatal("ps -a does not show Exited (9)")
	}

	// A box that ignores SIGTERM is killed after the grace period.
	if r := a3s(t, "start", id[:10]); r.code != 0 || r.stdout != id[:10]+"\n" {
		t.Fatalf("start by ID prefix: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// Its traps are set once it has written its lines.
	waitFor(t, 10*time.Second, "the second run's output", func() bool {
		return strings.Count(a3s(t, "logs", "lc-stop").stdout, "three") == 2
	})
	start := time.Now()
	if r := a3s(t, "stop", "-t", "2", "lc-stop"); r.code != 0 {
		t.Fatalf("stop -t 2: code %d: %s", r.code, r.stderr)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("stop -t 2 of a box ignoring SIGTERM returned after %s, before its grace period", took)
	}
	if got := field(t, "lc-stop", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Fatalf("after the grace period: %s, want exited 137", got)
	}
	ev := boxEvents(t, "lc-stop")
	for _, want := range []string{"create", "start", "die", "stop"} {
		if count(ev, want) == 0 {
			t.Errorf("events lack %q: %v", want, ev)
		}
	}
	if count(ev, "start") != 2 || count(ev, "die") != 2 {
		t.Errorf("events: want 2 starts and 2 dies, got %v", ev)
	}
	if r := a3s(t, "rm", "lc-stop"); r.code != 0 || r.stdout != "lc-stop\n" {
		t.Fatalf("rm: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := a3s(t, "inspect", "lc-stop"); r.code != 1 || !strings.Contains(r.stderr, "No such box: lc-stop") {
		t.Fatalf("inspect after rm: code %d stderr %q", r.code, r.stderr)
	}
}

func TestRestartOnFailureCount(t *testing.T) {
	needE2E(t)
	runDetached(t, "lc-onfail", "--restart", "on-failure:2", e2e.image, "sh", "-c", "echo ran; exit 1")
	waitFor(t, 90*time.Second, "the third exit", func() bool {
		return field(t, "lc-onfail", "{{.State.Status}}") == "exited"
	})
	if got := field(t, "lc-onfail", "{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}"); got != "2 1 on-failure:2" {
		t.Fatalf("restart count, exit code, policy = %q, want 2 1 on-failure:2", got)
	}
	if ps := a3s(t, "ps", "-a", "--filter", "name=lc-onfail", "--format", "{{.Status}}"); !strings.HasPrefix(ps.stdout, "Exited (1)") {
		t.Fatalf("ps status %q, want Exited (1)", ps.stdout)
	}
	if logs := a3s(t, "logs", "lc-onfail"); logs.stdout != "ran\nran\nran\n" {
		t.Fatalf("logs %q, want three runs", logs.stdout)
	}
	if ev := boxEvents(t, "lc-onfail"); count(ev, "start") != 3 || count(ev, "die") != 3 {
		t.Fatalf("events %v: want 3 starts and 3 dies", ev)
	}
}

// vmmPID reads the box's VMM process from its state file.
func vmmPID(t *testing.T, id string) int {
	vmm, _ := boxPIDs(t, id)
	return vmm
}

// boxPIDs reads the box's VMM and supervisor processes from its state
// file.
func boxPIDs(t *testing.T, id string) (vmm, supervisor int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e2e.root, "boxes", id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		VMMPID        int `json:"vmmPid"`
		SupervisorPID int `json:"supervisorPid"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.VMMPID, st.SupervisorPID
}

func TestRestartAlwaysAfterVMKilled(t *testing.T) {
	needE2E(t)
	id := runDetached(t, "lc-always", "--restart", "always", e2e.image, "sh", "-c", "echo up; sleep 1000")
	waitFor(t, 10*time.Second, "the first run's output", func() bool {
		return a3s(t, "logs", "lc-always").stdout == "up\n"
	})
	pid := vmmPID(t, id)
	if pid == 0 {
		t.Fatal("no VMM pid recorded")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the box back up", func() bool {
		return field(t, "lc-always", "{{.State.Status}} {{.RestartCount}}") == "running 1"
	})
	if np := vmmPID(t, id); np == pid || np == 0 {
		t.Fatalf("VMM pid %d after restart, want a new one (was %d)", np, pid)
	}
	waitFor(t, 10*time.Second, "the second run's output", func() bool {
		return a3s(t, "logs", "lc-always").stdout == "up\nup\n"
	})
	// A manual stop is not undone by the policy.
	if r := a3s(t, "stop", "-t", "1", "lc-always"); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	time.Sleep(time.Second)
	if got := field(t, "lc-always", "{{.State.Status}}"); got != "exited" {
		t.Fatalf("after stop: %s, want exited", got)
	}
}

func TestHealthCheck(t *testing.T) {
	needE2E(t)
	runDetached(t, "lc-health", "--health-cmd", "cat /tmp/ok", "--health-interval", "1s", "--health-retries", "2",
		e2e.image, "sh", "-c", "sleep 12; echo fine > /tmp/ok; exec sleep 1000")
	waitFor(t, 60*time.Second, "unhealthy", func() bool {
		return field(t, "lc-health", "{{.State.Health.Status}}") == "unhealthy"
	})
	if ps := a3s(t, "ps", "--filter", "health=unhealthy", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps.stdout, "lc-health Up") || !strings.Contains(ps.stdout, "(unhealthy)") {
		t.Fatalf("ps: %q", ps.stdout)
	}
	waitFor(t, 60*time.Second, "healthy", func() bool {
		return field(t, "lc-health", "{{.State.Health.Status}}") == "healthy"
	})
	out := field(t, "lc-health", "{{(index .State.Health.Log 0).ExitCode}} {{len .State.Health.Log}} {{.State.Health.FailingStreak}}")
	parts := strings.Fields(out)
	if len(parts) != 3 || parts[0] == "0" || parts[1] != "5" || parts[2] != "0" {
		t.Fatalf("health log: %q, want 5 results kept, the oldest a failure, no failing streak", out)
	}
	last := field(t, "lc-health", "{{(index .State.Health.Log 4).Output}}")
	if last != "fine" {
		t.Fatalf("last health output %q, want fine", last)
	}
	ev := boxEvents(t, "lc-health")
	if count(ev, "health_status:unhealthy") != 1 || count(ev, "health_status:healthy") != 1 {
		t.Fatalf("events %v: want one unhealthy and one healthy health_status", ev)
	}
}

func TestPauseFreezesTheVM(t *testing.T) {
	needE2E(t)
	runDetached(t, "lc-pause", e2e.image, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done")
	lines := func() int { return strings.Count(a3s(t, "logs", "lc-pause").stdout, "\n") }
	waitFor(t, 10*time.Second, "the counter", func() bool { return lines() > 3 })
	if r := a3s(t, "pause", "lc-pause"); r.code != 0 || r.stdout != "lc-pause\n" {
		t.Fatalf("pause: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := field(t, "lc-pause", "{{.State.Status}} {{.State.Paused}}"); got != "paused true" {
		t.Fatalf("after pause: %s", got)
	}
	n1 := lines()
	// A paused box's files and processes can still be read and written
	// (the VM runs for that time alone, its processes frozen); exec is
	// refused, as Docker does.
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("while paused\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, e2e.root, "cp", filepath.Join(host, "in"), "lc-pause:/tmp/in")
	ok(t, e2e.root, "cp", "lc-pause:/tmp/in", filepath.Join(host, "back"))
	if b, err := os.ReadFile(filepath.Join(host, "back")); err != nil || string(b) != "while paused\n" {
		t.Errorf("cp out of a paused box: %q %v", b, err)
	}
	if got := ok(t, e2e.root, "diff", "lc-pause"); !strings.Contains(got, "A /tmp/in\n") {
		t.Errorf("diff of a paused box:\n%s", got)
	}
	if got := ok(t, e2e.root, "top", "lc-pause"); !strings.Contains(got, "sh -c i=0") {
		t.Errorf("top of a paused box:\n%s", got)
	}
	if got := ok(t, e2e.root, "stats", "--no-stream", "--format", "{{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "lc-pause"); !regexp.MustCompile(`^0\.00% [0-9.]+MiB / [0-9.]+MiB [1-9][0-9]*\n$`).MatchString(got) {
		t.Errorf("stats of a paused box: %q", got)
	}
	failsWith(t, a3s(t, "exec", "lc-pause", "true"), 1, "is paused, unpause the box before exec")
	if got := field(t, "lc-pause", "{{.State.Status}}"); got != "paused" {
		t.Fatalf("after file operations the box is %s", got)
	}
	time.Sleep(time.Second)
	if n2 := lines(); n2 != n1 {
		t.Fatalf("the counter advanced from %d to %d while paused", n1, n2)
	}
	if r := a3s(t, "pause", "lc-pause"); r.code != 1 || !strings.Contains(r.stderr, "already paused") {
		t.Fatalf("second pause: code %d stderr %q", r.code, r.stderr)
	}
	if r := a3s(t, "unpause", "lc-pause"); r.code != 0 {
		t.Fatalf("unpause: %s", r.stderr)
	}
	waitFor(t, 10*time.Second, "the counter to advance", func() bool { return lines() > n1+3 })
	ev := boxEvents(t, "lc-pause")
	if count(ev, "pause") != 1 || count(ev, "unpause") != 1 {
		t.Fatalf("events %v: want pause and unpause", ev)
	}
	// stop of a paused box sends the stop signal, then unpauses it, as
	// Docker does: the box ends by the signal, not by the grace period's
	// kill.
	ok(t, e2e.root, "pause", "lc-pause")
	ok(t, e2e.root, "stop", "-t", "30", "lc-pause")
	if got := field(t, "lc-pause", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 143" {
		t.Errorf("after stop of the paused box: %s, want exited 143 (SIGTERM)", got)
	}
}

func TestSupervisorOutlivesCLI(t *testing.T) {
	needE2E(t)
	t.Cleanup(func() { a3s(t, "rm", "-f", "lc-fg") })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fg := command(ctx, e2e.root, "run", "--name", "lc-fg", e2e.image, "sh", "-c", "echo before; sleep 1000")
	var out strings.Builder
	fg.Stdout = &out
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the foreground box's output", func() bool { return out.String() == "before\n" })
	// The CLI dies; the box does not.
	_ = fg.Process.Kill()
	_ = fg.Wait()
	if got := field(t, "lc-fg", "{{.State.Status}}"); got != "running" {
		t.Fatalf("after the CLI was killed the box is %s, want running", got)
	}
	if logs := a3s(t, "logs", "lc-fg"); logs.stdout != "before\n" {
		t.Fatalf("logs %q", logs.stdout)
	}
	// The supervisor dies: the next command stops the VM and says so.
	id := field(t, "lc-fg", "{{.Id}}")
	b, _ := os.ReadFile(filepath.Join(e2e.root, "boxes", id, "state.json"))
	var st struct {
		VMMPID        int `json:"vmmPid"`
		SupervisorPID int `json:"supervisorPid"`
	}
	_ = json.Unmarshal(b, &st)
	if st.SupervisorPID == 0 || st.VMMPID == 0 {
		t.Fatalf("state lacks supervisor or VMM pid: %s", b)
	}
	if err := syscall.Kill(st.SupervisorPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the supervisor and its VMM to go", func() bool {
		return syscall.Kill(st.SupervisorPID, 0) != nil && syscall.Kill(st.VMMPID, 0) != nil
	})
	ps := a3s(t, "ps", "-a", "--filter", "name=lc-fg", "--format", "{{.Status}}")
	if !strings.Contains(ps.stderr, "box lc-fg: its supervisor is gone") || !strings.HasPrefix(ps.stdout, "Exited (255)") {
		t.Fatalf("after the supervisor died: stdout %q stderr %q", ps.stdout, ps.stderr)
	}
	// The repair removed the memory cgroups the dead supervisor left.
	if sup, vmm, _ := memoryCgroups(id); sup != "" {
		for _, d := range []string{sup, vmm} {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("%s is left after the repair: %v", d, err)
			}
		}
	}
	if logs := a3s(t, "logs", "lc-fg"); logs.stdout != "before\n" {
		t.Fatalf("logs after repair %q", logs.stdout)
	}
}

func TestLifecycleBadInput(t *testing.T) {
	needE2E(t)
	// Boxes created but never started: enough that two share an ID's
	// first hex digit.
	var ids []string
	for i := 0; i < 17; i++ {
		name := fmt.Sprintf("lc-bad-%d", i)
		r := a3s(t, "create", "--name", name, e2e.image, "true")
		if r.code != 0 {
			t.Fatalf("create: %s", r.stderr)
		}
		ids = append(ids, strings.TrimSpace(r.stdout))
		t.Cleanup(func() { a3s(t, "rm", name) })
	}
	if got := field(t, "lc-bad-0", "{{.State.Status}}"); got != "created" {
		t.Fatalf("created box is %s", got)
	}
	ambiguous := ""
	seen := map[byte]bool{}
	for _, id := range ids {
		if seen[id[0]] {
			ambiguous = id[:1]
			break
		}
		seen[id[0]] = true
	}
	before := a3s(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout
	tests := []struct {
		args    []string
		code    int
		message string
	}{
		{[]string{"stop", "no-such-box"}, 1, "No such box: no-such-box"},
		{[]string{"inspect", ambiguous}, 1, "ambiguous"},
		{[]string{"kill", "-s", "SIGNOPE", "lc-bad-0"}, 1, "invalid signal: SIGNOPE"},
		{[]string{"ps", "--filter", "colour=red"}, 1, "invalid filter 'colour'"},
		{[]string{"ps", "-a", "--format", "{{.Nope}}"}, 1, "Nope"},
		{[]string{"ps", "--format", "{{.ID"}, 1, "template parsing error"},
		{[]string{"stop", "-t", "-5", "lc-bad-0"}, 1, "--timeout"},
		{[]string{"kill", "lc-bad-0"}, 1, "not running"},
		{[]string{"rename", "lc-bad-0", "lc-bad-1"}, 1, "already in use"},
		{[]string{"rename", "lc-bad-0", "bad/name"}, 1, "invalid box name"},
		{[]string{"run", "--restart", "sometimes", e2e.image}, 125, "invalid restart policy"},
		{[]string{"run", "--rm", "--restart", "always", e2e.image}, 125, "conflicting options"},
		{[]string{"create", "--stop-signal", "SIGNOPE", e2e.image}, 125, "invalid signal"},
		{[]string{"create", "--name", "lc-bad-0", e2e.image}, 125, "already in use"},
	}
	for _, tt := range tests {
		r := a3s(t, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.message) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: code %d stderr %q; want %d and one line naming %q", tt.args, r.code, r.stderr, tt.code, tt.message)
		}
	}
	if after := a3s(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout; after != before {
		t.Fatalf("bad input changed the boxes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := strings.Count(a3s(t, "ps", "-aq", "--filter", "name=lc-bad-").stdout, "\n"); got != 17 {
		t.Fatalf("ps -aq --filter name=lc-bad- lists %d boxes, want 17", got)
	}
}

// TestLifecycleVerbs covers the verbs the other tests only use in
// passing: kill -s, wait, restart, rename, start -a, rm -f, ps -n and -l,
// inspect -s, logs --since and events as JSON.
func TestLifecycleVerbs(t *testing.T) {
	needE2E(t)
	script := `trap 'echo got hup; exit 4' HUP; echo started; while :; do sleep 0.1; done`
	id := runDetached(t, "lv-box", e2e.image, "sh", "-c", script)
	t.Cleanup(func() { a3s(t, "rm", "-f", "lv-renamed") })
	waitFor(t, 10*time.Second, "the box's traps", func() bool { return a3s(t, "logs", "lv-box").stdout == "started\n" })

	// wait blocks until the box ends and prints its status.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wait := command(ctx, e2e.root, "wait", "lv-box")
	var wout strings.Builder
	wait.Stdout = &wout
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if r := a3s(t, "kill", "-s", "HUP", "lv-box"); r.code != 0 || r.stdout != "lv-box\n" {
		t.Fatalf("kill -s HUP: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if err := wait.Wait(); err != nil || wout.String() != "4\n" {
		t.Fatalf("wait: %q, %v; want 4", wout.String(), err)
	}
	if ev := boxEvents(t, "lv-box"); count(ev, "kill") != 1 {
		t.Fatalf("events %v: want one kill", ev)
	}

	// restart brings an exited box back; rename keeps it.
	if r := a3s(t, "restart", "-t", "1", "lv-box"); r.code != 0 || r.stdout != "lv-box\n" {
		t.Fatalf("restart: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := a3s(t, "rename", "lv-box", "lv-renamed"); r.code != 0 {
		t.Fatalf("rename: %s", r.stderr)
	}
	if got := field(t, "lv-renamed", "{{.Id}} {{.Name}} {{.State.Status}}"); got != id+" /lv-renamed running" {
		t.Fatalf("after restart and rename: %q", got)
	}
	if r := a3s(t, "inspect", "lv-box"); r.code != 1 {
		t.Fatal("the old name still finds the box")
	}

	// ps -l and -n 1 show the newest box only; inspect -s gives sizes.
	if r := a3s(t, "ps", "-l", "-q", "--no-trunc"); r.stdout != id+"\n" {
		t.Fatalf("ps -l: %q, want this box", r.stdout)
	}
	if r := a3s(t, "ps", "-n", "1", "--format", "{{.Names}}"); r.stdout != "lv-renamed\n" {
		t.Fatalf("ps -n 1: %q", r.stdout)
	}
	if r := a3s(t, "inspect", "-s", "-f", "{{gt .SizeRw 0.0}} {{ge .SizeRootFs .SizeRw}}", "lv-renamed"); strings.TrimSpace(r.stdout) != "true true" {
		t.Fatalf("inspect -s sizes: %q %q", r.stdout, r.stderr)
	}
	if r := a3s(t, "inspect", "-f", "{{.SizeRw}}", "lv-renamed"); r.code != 1 {
		t.Fatalf("inspect without -s gave sizes: %q", r.stdout)
	}

	// logs --since leaves out what came before. The restarted box's first
	// line may still be on its way: wait for it before taking the cut.
	waitFor(t, 30*time.Second, "the restarted box's output", func() bool {
		return a3s(t, "logs", "lv-renamed").stdout == "started\ngot hup\nstarted\n"
	})
	cut := time.Now().UTC().Format(time.RFC3339Nano)
	if r := a3s(t, "logs", "--since", cut, "lv-renamed"); r.stdout != "" {
		t.Fatalf("logs --since now: %q", r.stdout)
	}
	if r := a3s(t, "logs", "--since", "1h", "lv-renamed"); r.stdout != "started\ngot hup\nstarted\n" {
		t.Fatalf("logs --since 1h: %q", r.stdout)
	}

	// Events come out as Docker's JSON too.
	r := a3s(t, "events", "--since", "1h", "--until", "0s", "--filter", "event=rename", "--format", "json")
	var e struct {
		Type, Action string
		Actor        struct{ ID string }
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &e); err != nil || e.Type != "container" || e.Action != "rename" || e.Actor.ID != id {
		t.Fatalf("events --format json: %q (%v)", r.stdout, err)
	}

	// start -a attaches and exits with the box's status.
	if r := a3s(t, "stop", "-t", "1", "lv-renamed"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	startA := command(ctx, e2e.root, "start", "-a", "lv-renamed")
	var sout strings.Builder
	startA.Stdout = &sout
	if err := startA.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "start -a's output", func() bool {
		return strings.Contains(a3s(t, "logs", "lv-renamed").stdout, "got hup\nstarted\nstarted\n")
	})
	if r := a3s(t, "kill", "-s", "HUP", "lv-renamed"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	err := startA.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 || sout.String() != "started\ngot hup\n" {
		t.Fatalf("start -a: %v, output %q; want status 4 and the run's output", err, sout.String())
	}

	// rm -f removes a running box.
	if r := a3s(t, "start", "lv-renamed"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := a3s(t, "rm", "-f", "lv-renamed"); r.code != 0 || r.stdout != "lv-renamed\n" {
		t.Fatalf("rm -f: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := a3s(t, "inspect", "lv-renamed"); r.code != 1 {
		t.Fatal("rm -f left the box")
	}
}
