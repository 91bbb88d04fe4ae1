package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

// capMask is /proc/PID/status's hex mask of a set of capabilities.
func capMask(caps []string) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << slices.Index(spec.Capabilities, c)
	}
	return fmt.Sprintf("%016x", m)
}

// statusField is one field of /proc/PID/status text.
func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// The process and kernel flags of run, each seen from inside the box:
// the guest applies them to the box's own kernel and processes.
func TestRunFlagsInTheBox(t *testing.T) {
	needE2E(t)
	runDetached(t, "flags-box", "--read-only", "--tmpfs", "/tmp",
		"--sysctl", "net.ipv4.ip_forward=1", "--ulimit", "nofile=1234:2345", "--shm-size", "32m",
		"--pids-limit", "40", "--cap-drop", "NET_RAW", "--cap-add", "sys_admin",
		"--security-opt", "no-new-privileges", "--group-add", "1234", "--domainname", "example.org",
		"--dns-search", "search.example", "--dns-option", "ndots:3", "--expose", "9000",
		e2e.image, "sleep", "1000")
	in := func(args ...string) string {
		t.Helper()
		return ok(t, e2e.root, append([]string{"exec", "flags-box"}, args...)...)
	}
	if got := in("sh", "-c", "touch /x 2>&1; echo rc=$?"); !strings.Contains(got, "Read-only file system") || !strings.HasSuffix(got, "rc=1\n") {
		t.Errorf("touch /x on a read-only root: %q", got)
	}
	if got := in("sh", "-c", "touch /tmp/y /dev/shm/z && echo written"); got != "written\n" {
		t.Errorf("a tmpfs on a read-only root: %q", got)
	}
	if got := in("cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/domainname"); got != "1\nexample.org\n" {
		t.Errorf("sysctl and domain name: %q", got)
	}
	if got := in("sh", "-c", "ulimit -n; ulimit -Hn"); got != "1234\n2345\n" {
		t.Errorf("ulimit -n, -Hn: %q", got)
	}
	if got := in("sh", "-c", "df -k /dev/shm | tail -n 1 | awk '{print $2}'"); got != "32768\n" {
		t.Errorf("/dev/shm size: %q KiB, want 32768", got)
	}
	if got := in("sh", "-c", "grep -E '^(search|options)' /etc/resolv.conf"); got != "search search.example\noptions ndots:3\n" {
		t.Errorf("resolv.conf: %q", got)
	}
	if got := in("id", "-G"); !slices.Contains(strings.Fields(got), "1234") {
		t.Errorf("id -G = %q, want 1234 among them", got)
	}
	// Forks beyond the bound fail: fewer than 40 run, however many are
	// started. (A failed fork ends ash, so the forks are a subshell's, and
	// the count is made with builtins alone.)
	got := in("sh", "-c", `(for i in $(seq 1 60); do tail -f /dev/null & done) 2>/dev/null
n=0; pids=; for p in /proc/[0-9]*; do read c < $p/comm 2>/dev/null && [ "$c" = tail ] && n=$((n+1)) && pids="$pids ${p#/proc/}"; done
echo $n; kill $pids 2>/dev/null; true`)
	if n, err := strconv.Atoi(strings.TrimSpace(got)); err != nil || n < 10 || n >= 40 {
		t.Errorf("%q processes running under --pids-limit 40, of 60 started", got)
	}

	want := capMask(append(slices.DeleteFunc(slices.Clone(spec.DefaultCapabilities), func(c string) bool { return c == "NET_RAW" }), "SYS_ADMIN"))
	for _, who := range []string{"self", "$(pidof sleep)"} {
		st := in("sh", "-c", "cat /proc/"+who+"/status")
		for _, f := range []string{"CapBnd", "CapEff", "CapPrm"} {
			if got := statusField(st, f); got != want {
				t.Errorf("%s of %s = %s, want %s", f, who, got, want)
			}
		}
		if got := statusField(st, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs of %s = %q, want 1", who, got)
		}
	}
	st := ok(t, e2e.root, "exec", "-u", "1000", "flags-box", "cat", "/proc/self/status")
	if eff, bnd := statusField(st, "CapEff"), statusField(st, "CapBnd"); eff != "0000000000000000" || bnd != want {
		t.Errorf("a non-root exec: CapEff %s CapBnd %s, want none and %s", eff, bnd, want)
	}

	st = ok(t, e2e.root, "exec", "--privileged", "flags-box", "cat", "/proc/self/status")
	if got, all := statusField(st, "CapEff"), capMask(spec.Capabilities); got != all {
		t.Errorf("exec --privileged: CapEff %s, want %s", got, all)
	}

	var hc struct {
		ReadonlyRootfs bool
		ShmSize        int64
		PidsLimit      *int64
		CapAdd         []string
	}
	insp := ok(t, e2e.root, "inspect", "-f", "{{json .HostConfig}}", "flags-box")
	if err := json.Unmarshal([]byte(insp), &hc); err != nil || !hc.ReadonlyRootfs || hc.ShmSize != 32<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 40 || !slices.Equal(hc.CapAdd, []string{"SYS_ADMIN"}) {
		t.Errorf("inspect HostConfig: %s (%v)", insp, err)
	}
	if got := ok(t, e2e.root, "inspect", "-f", "{{json .Config.ExposedPorts}} {{.Config.Domainname}}", "flags-box"); got != "{\"9000/tcp\":{}} example.org\n" {
		t.Errorf("inspect Config: %q", got)
	}
}

// Without flags a box's processes have Docker's default capabilities,
// a writable root and a 64 MiB /dev/shm; --privileged gives every
// capability.
func TestRunDefaultsAndPrivileged(t *testing.T) {
	needE2E(t)
	st := ok(t, e2e.root, "run", "--rm", e2e.image, "sh", "-c", "cat /proc/self/status; touch /x && echo root=rw; df -k /dev/shm | tail -n 1")
	if got, want := statusField(st, "CapBnd"), capMask(spec.DefaultCapabilities); got != want || statusField(st, "CapEff") != want {
		t.Errorf("default CapBnd %s CapEff %s, want %s", got, statusField(st, "CapEff"), want)
	}
	if statusField(st, "NoNewPrivs") != "0" || !strings.Contains(st, "root=rw") || !strings.Contains(st, " 65536 ") {
		t.Errorf("defaults: %q", st)
	}
	st = ok(t, e2e.root, "run", "--rm", "--privileged", e2e.image, "cat", "/proc/self/status")
	if got, want := statusField(st, "CapEff"), capMask(spec.Capabilities); got != want {
		t.Errorf("--privileged CapEff %s, want %s", got, want)
	}
}

// Flags with no meaning for a VM are refused by name with the reason, and
// the host-side flags of run and create act before a box is made.
func TestRunFlagsRefusedAndHostSide(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"device", []string{"--device", "/dev/kvm"}, "--device is not supported: a box is a virtual machine"},
		{"gpus", []string{"--gpus", "all"}, "--gpus is not supported"},
		{"mac-address", []string{"--mac-address", "02:42:ac:11:00:02"}, "--mac-address is not supported"},
		{"platform", []string{"--platform", "linux/arm64"}, "--platform linux/arm64 is not supported"},
		{"security-opt", []string{"--security-opt", "seccomp=unconfined"}, "only no-new-privileges"},
		{"log-driver", []string{"--log-driver", "syslog"}, `log driver "syslog" is not taken`},
		{"sysctl name", []string{"--sysctl", "../x=1"}, "dotted parts"},
		{"ulimit name", []string{"--ulimit", "files=1"}, "invalid ulimit type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, verb := range []string{"run", "create"} {
				failsWith(t, a3sIn(t, root, append(append([]string{verb, "--rm"}, tt.args...), e2e.image, "true")...), 125, tt.want)
			}
		})
	}
	failsWith(t, a3sIn(t, root, "run", "--pull", "never", e2e.image, "true"), 125, "--pull never")

	// -q pulls without a word; --cidfile gets the ID, and a second box
	// with the same file is refused.
	cid := filepath.Join(t.TempDir(), "cid")
	r := a3sIn(t, root, "create", "-q", "--cidfile", cid, "--name", "cid-box", e2e.image, "true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("create -q --cidfile: exit %d stderr %q", r.code, r.stderr)
	}
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", "cid-box") })
	if got, err := os.ReadFile(cid); err != nil || string(got) != strings.TrimSpace(r.stdout) {
		t.Errorf("cidfile %q (%v), want %q", got, err, r.stdout)
	}
	failsWith(t, a3sIn(t, root, "create", "--cidfile", cid, e2e.image, "true"), 125, "container ID file found")
	if ps := strings.Fields(a3sIn(t, root, "ps", "-aq").stdout); len(ps) != 1 {
		t.Errorf("boxes after the refused create: %v", ps)
	}
}
