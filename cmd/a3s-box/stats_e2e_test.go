package main

// End-to-end tests of top, stats and update: one box, booted twice (once
// more by its restart policy, which update sets), carries every check.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memTotalKB is MemTotal of the box's /proc/meminfo, as the guest sees it.
func memTotalKB(t *testing.T, box string) int {
	t.Helper()
	r := a3s(t, "exec", box, "grep", "MemTotal", "/proc/meminfo")
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 3 {
		t.Fatalf("exec grep MemTotal: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// topRows runs top with ps options and returns its heading and rows,
// split on runs of blanks (the last column, a command line, keeps its
// own single blanks).
func topRows(t *testing.T, box string, psArgs ...string) (header []string, rows [][]string) {
	t.Helper()
	r := a3s(t, append([]string{"top", box}, psArgs...)...)
	if r.code != 0 {
		t.Fatalf("top %v: code %d stderr %q", psArgs, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	split := regexp.MustCompile(`\s{2,}`)
	header = split.Split(strings.TrimSpace(lines[0]), -1)
	for _, l := range lines[1:] {
		rows = append(rows, split.Split(strings.TrimSpace(l), -1))
	}
	return header, rows
}

// findRow is the first row whose column col is value.
func findRow(rows [][]string, col int, value string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == value {
			return r
		}
	}
	return nil
}

// cpuQuotaFile is where the box's VMM cgroup keeps its CPU quota on this
// host, and the quota for half a CPU there.
func cpuQuotaFile(id string) (path, half string) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(" "+string(b)+" ", " cpu ") {
		return filepath.Join("/sys/fs/cgroup/a3s-box", id[:12], "cpu.max"), "50000 100000"
	}
	return filepath.Join("/sys/fs/cgroup/cpu/a3s-box", id[:12], "cpu.cfs_quota_us"), "50000"
}

func TestTopStatsUpdate(t *testing.T) {
	needE2E(t)
	const box = "st-box"
	id := runDetached(t, box, "-m", "256m", e2e.image, "sleep", "100000")

	// top: Docker's columns, the main process, and not guestinit.
	header, rows := topRows(t, box)
	if got := strings.Join(header, "|"); got != "UID|PID|PPID|C|STIME|TTY|TIME|CMD" {
		t.Fatalf("top heading %q", got)
	}
	main := findRow(rows, 7, "sleep 100000")
	if main == nil || main[0] != "root" || main[2] != "1" || main[5] != "?" || !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(main[6]) {
		t.Fatalf("top rows %q: want root's sleep 100000, a child of PID 1", rows)
	}
	if findRow(rows, 1, "1") != nil || len(rows) != 1 {
		t.Fatalf("top rows %q: want the main process alone, guestinit (PID 1) hidden", rows)
	}

	stats := func(args ...string) string {
		t.Helper()
		r := a3s(t, append([]string{"stats", "--no-stream"}, args...)...)
		if r.code != 0 {
			t.Fatalf("stats %v: code %d stderr %q", args, r.code, r.stderr)
		}
		return r.stdout
	}
	pids := func() int {
		n, err := strconv.Atoi(strings.TrimSpace(stats("--format", "{{.PIDs}}", box)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := pids(); n != 1 {
		t.Fatalf("PIDs %d, want 1: the main process", n)
	}

	// A process started in the box shows in top (also with -o) and in
	// stats's PIDs.
	if r := a3s(t, "exec", "-d", box, "sleep", "4242"); r.code != 0 {
		t.Fatalf("exec -d: %s", r.stderr)
	}
	waitFor(t, 10*time.Second, "the exec'd sleep in top", func() bool {
		_, rows := topRows(t, box)
		return findRow(rows, 7, "sleep 4242") != nil
	})
	header, rows = topRows(t, box, "-o", "pid,comm")
	if strings.Join(header, "|") != "PID|COMMAND" || len(rows) != 2 || rows[0][1] != "sleep" || rows[1][1] != "sleep" {
		t.Fatalf("top -o pid,comm: %q %q", header, rows)
	}
	header, rows = topRows(t, box, "aux")
	if strings.Join(header, "|") != "USER|PID|%CPU|%MEM|VSZ|RSS|TTY|STAT|START|TIME|COMMAND" || findRow(rows, 10, "sleep 4242") == nil {
		t.Fatalf("top aux: %q %q", header, rows)
	}
	if n := pids(); n != 2 {
		t.Fatalf("PIDs %d after exec -d, want 2", n)
	}

	// stats: Docker's columns, the box's memory as the limit.
	table := strings.Split(strings.TrimSpace(stats()), "\n")
	if !regexp.MustCompile(`^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$`).MatchString(table[0]) {
		t.Fatalf("stats heading %q", table[0])
	}
	row := regexp.MustCompile(`(?m)^` + id[:12] + `\s+st-box\s+\d+\.\d\d%\s+[\d.]+[KM]iB / 256MiB\s+\d+\.\d\d%\s+\S+ / \S+\s+[\d.]+[kM]B / [\d.]+[kM]?B\s+2$`)
	if !row.MatchString(strings.Join(table[1:], "\n")) {
		t.Fatalf("stats table:\n%s\nwant a row for st-box with a limit of 256MiB, block I/O and 2 PIDs", strings.Join(table, "\n"))
	}
	if got := stats("--format", "{{.Name}} {{.MemUsage}}", box); !regexp.MustCompile(`^st-box [\d.]+MiB / 256MiB\n$`).MatchString(got) {
		t.Fatalf("--format '{{.Name}} {{.MemUsage}}': %q", got)
	}
	var js map[string]string
	if err := json.Unmarshal([]byte(stats("--format", "json", box)), &js); err != nil {
		t.Fatal(err)
	}
	if js["Container"] != box || js["Name"] != box || js["ID"] != id[:12] || js["PIDs"] != "2" || !strings.HasSuffix(js["MemUsage"], " / 256MiB") {
		t.Fatalf("--format json: %v", js)
	}

	// Streaming without a terminal: a new table every second, no
	// terminal control codes.
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	out, _ := command(ctx, e2e.root, "stats", box).Output()
	if n := strings.Count(string(out), "CONTAINER ID"); n < 2 || strings.Contains(string(out), "\033") {
		t.Fatalf("streamed stats: %d tables in %q; want at least 2, plain", n, out)
	}

	// On a terminal: the screen cleared, then the table redrawn in place.
	term := startPTY(t, 24, 160, "stats", box)
	m := term.expect(0, "\033[2J")
	for i := 0; i < 2; i++ {
		m = term.expect(m, "\033[H")
		m = term.expect(m, id[:12]+"   st-box")
	}

	// update --memory on the running box: the balloon takes memory from
	// the guest and gives it back.
	booted := memTotalKB(t, box)
	if r := a3s(t, "update", "-m", "160m", box); r.code != 0 || r.stdout != box+"\n" || r.stderr != "" {
		t.Fatalf("update -m 160m: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	waitFor(t, 20*time.Second, "MemTotal to drop by 96MiB", func() bool {
		return booted-memTotalKB(t, box) >= 95*1024
	})
	if got := stats("--format", "{{.MemUsage}}", box); !strings.HasSuffix(got, " / 160MiB\n") {
		t.Fatalf("stats after update -m 160m: %q", got)
	}
	if r := a3s(t, "update", "-m", "256m", box); r.code != 0 || r.stderr != "" {
		t.Fatalf("update -m 256m: code %d stderr %q", r.code, r.stderr)
	}
	waitFor(t, 20*time.Second, "MemTotal back to the boot size", func() bool { return memTotalKB(t, box) == booted })
	r := a3s(t, "update", "-m", "320m", box)
	if r.code != 0 || r.stdout != box+"\n" || !strings.Contains(r.stderr, "box st-box: memory 320MiB applies at the next start") {
		t.Fatalf("update -m 320m: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := memTotalKB(t, box); got != booted {
		t.Fatalf("MemTotal %d kB after growing past the boot size, want %d until the next start", got, booted)
	}

	// update --cpus caps the VMM through its cgroup.
	quotaFile, half := cpuQuotaFile(id)
	vmm := vmmPID(t, id)
	if r := a3s(t, "update", "--cpus", "0.5", box); r.code != 0 || r.stdout != box+"\n" || r.stderr != "" {
		t.Fatalf("update --cpus 0.5: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	inCgroup := func(pid int) bool {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(quotaFile), "cgroup.procs"))
		return strings.Contains("\n"+string(b), "\n"+strconv.Itoa(pid)+"\n")
	}
	if b, err := os.ReadFile(quotaFile); err != nil || strings.TrimSpace(string(b)) != half || !inCgroup(vmm) {
		t.Fatalf("%s: %q, %v (VMM %d in the cgroup: %v); want %s", quotaFile, b, err, vmm, inCgroup(vmm), half)
	}

	// Bad input: one line, exit 1, and the box's record as it was.
	config := filepath.Join(e2e.root, "boxes", id, "config.json")
	before, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"update", "--cpus", "1000", box}, "invalid --cpus 1000: the range is 0.01 to"},
		{[]string{"update", "--cpus", "-1", box}, "invalid --cpus -1"},
		{[]string{"update", "--cpus", "lots", box}, `invalid argument "lots" for "--cpus" flag`},
		{[]string{"update", "-m", "100000g", box}, "invalid --memory 100000GiB: the host has only"},
		{[]string{"update", "-m", "-5m", box}, `invalid argument "-5m"`},
		{[]string{"update", "-m", "1m", box}, "a box needs at least 112MiB"},
		{[]string{"update", "--restart", "sometimes", box}, "invalid restart policy"},
		{[]string{"update", box}, "you must provide one or more flags"},
		{[]string{"update", "--cpus", "1", "no-such-box"}, "No such box: no-such-box"},
		{[]string{"top", "no-such-box"}, "No such box: no-such-box"},
		{[]string{"top", box, "-Z"}, "unsupported ps option -Z"},
		{[]string{"top", box, "-o", "pid,bogus"}, `unknown ps format keyword "bogus"`},
		{[]string{"stats", "--no-stream", "no-such-box"}, "No such box: no-such-box"},
		{[]string{"stats", "--format", "{{.Nope"}, "template parsing error"},
	} {
		failsWith(t, a3s(t, tt.args...), 1, tt.want)
	}
	// With several boxes, the others are done and the exit is 1.
	r = a3s(t, "update", "--restart", "always", box, "no-such-box")
	if r.code != 1 || r.stdout != box+"\n" || !strings.Contains(r.stderr, "No such box: no-such-box") {
		t.Fatalf("update of a box and an unknown one: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	after, _ := os.ReadFile(config)
	var rb, ra map[string]any
	_ = json.Unmarshal(before, &rb)
	_ = json.Unmarshal(after, &ra)
	if rs := ra["spec"].(map[string]any); rs["restart"] != "always" {
		t.Fatalf("restart policy %v after update --restart always", rs["restart"])
	}
	// The box is its implicit stack's: its config hash moves with the
	// restart policy (update edits the desired state), nothing else.
	const hashLabel = "a3s-box.config-hash"
	la, lb := ra["spec"].(map[string]any)["labels"].(map[string]any), rb["spec"].(map[string]any)["labels"].(map[string]any)
	if la[hashLabel] == lb[hashLabel] {
		t.Errorf("the box's config hash %v did not move with update --restart", la[hashLabel])
	}
	delete(la, hashLabel)
	delete(lb, hashLabel)
	delete(ra["spec"].(map[string]any), "restart")
	delete(rb["spec"].(map[string]any), "restart")
	b1, _ := json.Marshal(rb)
	b2, _ := json.Marshal(ra)
	if string(b1) != string(b2) {
		t.Fatalf("bad input changed the box's record:\nbefore %s\nafter  %s", before, after)
	}

	// update --restart: the running supervisor restarts the box when its
	// main process ends, and the new boot has what waited for it.
	_, rows = topRows(t, box, "-o", "pid,args")
	main = findRow(rows, 1, "sleep 100000")
	if main == nil {
		t.Fatalf("no main process in %q", rows)
	}
	a3s(t, "exec", box, "kill", main[0])
	waitFor(t, 60*time.Second, "the box restarted", func() bool {
		return field(t, box, "{{.State.Status}} {{.RestartCount}}") == "running 1"
	})
	if got := memTotalKB(t, box); got-booted < 60*1024 {
		t.Fatalf("MemTotal %d kB after the restart, want about 64MiB more than %d", got, booted)
	}
	nvmm := vmmPID(t, id)
	if b, err := os.ReadFile(quotaFile); err != nil || strings.TrimSpace(string(b)) != half || nvmm == vmm || !inCgroup(nvmm) {
		t.Fatalf("after the restart %s: %q, %v (new VMM %d in the cgroup: %v)", quotaFile, b, err, nvmm, inCgroup(nvmm))
	}

	// A stopped box: top refuses it, stats -a shows it with zeros.
	if r := a3s(t, "stop", "-t", "1", box); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	failsWith(t, a3s(t, "top", box), 1, "box st-box is not running")
	if got := stats("--format", "{{.Name}}"); strings.Contains(got, box) {
		t.Fatalf("stats without -a lists the stopped box: %q", got)
	}
	if got := stats("-a", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"); !strings.Contains(got, "st-box 0.00% 0B / 0B 0\n") {
		t.Fatalf("stats -a: %q", got)
	}
	if _, err := os.Stat(filepath.Dir(quotaFile)); !os.IsNotExist(err) {
		t.Fatalf("the VMM's cgroup is left after stop: %v", err)
	}
}
