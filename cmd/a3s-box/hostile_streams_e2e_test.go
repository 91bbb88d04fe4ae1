package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
	"github.com/a3s-box/a3s-box/runtime/initramfs"
)

// supervisorRSSMax bounds the supervisor's resident memory under a flood
// of guest-opened streams: what the host holds of them is bounded at
// about 40 MiB (runtime/guestdns.go), over an idle supervisor's 20 or so.
const supervisorRSSMax = 128

// TestHostileGuestStreams boots a box whose guestinit is a hostile build
// (guestinit/hostile.go): guestinit owns the one channel to the host (a
// virtio-serial port opens once, and the session's state is in its
// memory), so a process in the guest cannot speak on it, and the attack
// a guest root can make is a guestinit of its own. Asked by an exec, it
// opens hundreds of streams with raw yamux frames, each announcing a
// frame of a huge or bulk length and sending little or none of it, and
// closes none; then, reading nothing from the host for a while, it
// sends a million yamux pings. The box's supervisor must stay under
// supervisorRSSMax during and after the floods, and the box must still
// answer exec.
func TestHostileGuestStreams(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	initrd := hostileInitramfs(t, dir)
	c := call{root: e2e.root, env: []string{"A3S_BOX_INITRD=" + initrd}}
	const box = "hs-box"
	if r := c.run(t, "run", "-d", "--name", box, "--memory", "256m", e2e.image, "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	defer a3s(t, "rm", "-f", box) // when the test fails before its own
	id := field(t, box, "{{.Id}}")
	vmm, sup := boxPIDs(t, id)
	if sup == 0 || vmm == 0 {
		t.Fatalf("box %s: no supervisor or VMM PID in its state", id)
	}
	// Both are bounded by memory cgroups of their own.
	supCgroup, vmmCgroup, limitFile := memoryCgroups(id)
	if supCgroup != "" {
		for _, c := range []struct {
			dir  string
			pid  int
			want int64
		}{
			{supCgroup, sup, 256 << 20},
			{vmmCgroup, vmm, 256<<20 + 256<<20 + 1<<30}, // TCG
		} {
			if got := readInt(t, filepath.Join(c.dir, limitFile)); got != c.want {
				t.Errorf("%s/%s = %d, want %d", c.dir, limitFile, got, c.want)
			}
			if procs, _ := os.ReadFile(filepath.Join(c.dir, "cgroup.procs")); !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(c.pid)) {
				t.Errorf("process %d is not in %s (it holds %q)", c.pid, c.dir, procs)
			}
		}
	}
	idle := benchrig.RSSMiB(sup)
	t.Logf("idle: supervisor %.1f MiB, VMM %.1f MiB", idle, benchrig.RSSMiB(vmm))

	var (
		mu   sync.Mutex
		most float64
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			rss := benchrig.RSSMiB(sup)
			mu.Lock()
			most = max(most, rss)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	peak := func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return most
	}

	start := time.Now()
	r := a3s(t, "exec", box, "a3s-hostile-flood", "800")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "opened 800 streams") {
		t.Fatalf("the flood: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	t.Logf("flood: %s (exec took %s); supervisor peak %.1f MiB so far", strings.TrimSpace(r.stdout), time.Since(start).Round(time.Millisecond), peak())
	// Then pings, while the guest reads nothing: a host that answered
	// each from a goroutine waiting to send would start a million.
	r = a3s(t, "exec", box, "a3s-hostile-ping", "1000000", "10")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "sent 1000000 pings") {
		t.Fatalf("the ping flood: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	t.Logf("ping flood: %s; supervisor peak %.1f MiB so far", strings.TrimSpace(r.stdout), peak())
	// The streams the host took stay open on the guest's side: their
	// slots drain for a deadline and a close timeout (about 26 s), which
	// is when a host that kept them would hold the most.
	time.Sleep(30 * time.Second)
	if out := a3s(t, "exec", box, "echo", "alive"); out.code != 0 || out.stdout != "alive\n" {
		t.Fatalf("exec after the flood: exit %d, stdout %q, stderr %q", out.code, out.stdout, out.stderr)
	}
	close(stop)
	<-sampled
	after := benchrig.RSSMiB(sup)
	t.Logf("supervisor: idle %.1f MiB, peak %.1f MiB, after %.1f MiB; VMM %.1f MiB", idle, peak(), after, benchrig.RSSMiB(vmm))
	if peak() == 0 || after == 0 {
		t.Fatalf("supervisor %d: no RSS read (is it alive?)", sup)
	}
	if peak() > supervisorRSSMax || after > supervisorRSSMax {
		t.Fatalf("the supervisor's RSS reached %.1f MiB (%.1f after the flood), want under %d MiB", peak(), after, supervisorRSSMax)
	}
	// The cgroups go with the box.
	ok(t, e2e.root, "rm", "-f", box)
	if supCgroup != "" {
		waitFor(t, 10*time.Second, "the box's memory cgroups to go", func() bool {
			_, errSup := os.Stat(supCgroup)
			_, errVMM := os.Stat(vmmCgroup)
			return os.IsNotExist(errSup) && os.IsNotExist(errVMM)
		})
	}
}

// memoryCgroups are where a box's supervisor and VMM have their memory
// cgroups on this host, and the file of their limits; none when the
// host has no memory controller.
func memoryCgroups(id string) (supervisor, vmm, limitFile string) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && slices.Contains(strings.Fields(string(b)), "memory") {
		return filepath.Join("/sys/fs/cgroup/a3s-box", id[:12]+"-supervisor"), filepath.Join("/sys/fs/cgroup/a3s-box", id[:12]), "memory.max"
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		return filepath.Join("/sys/fs/cgroup/memory/a3s-box", id[:12]+"-supervisor"), filepath.Join("/sys/fs/cgroup/memory/a3s-box", id[:12]), "memory.limit_in_bytes"
	}
	return "", "", ""
}

func readInt(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// hostileInitramfs builds guestinit with the hostileguest tag and
// returns the built initramfs with it as /init.
func hostileInitramfs(t *testing.T, dir string) string {
	t.Helper()
	initBin := filepath.Join(dir, "guestinit")
	build := exec.Command("go", "build", "-tags", "hostileguest", "-o", initBin, "../../guestinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the hostile guestinit: %v\n%s", err, out)
	}
	base, err := os.Open(filepath.Join(e2e.dir, "initramfs.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	path := filepath.Join(dir, "initramfs.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := initramfs.ReplaceInit(f, base, initBin); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
