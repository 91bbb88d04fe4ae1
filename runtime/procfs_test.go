package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// statLine is a /proc/PID/stat line of a guest's kernel (6.1).
const statLine = "93 (sleep) S 1 93 93 34816 93 4194560 27 0 15 0 12 3 0 0 20 0 1 0 249 2314240 1 18446744073709551615 4198400 5785993 140728662915264 0 0 0 0 0 0 1 0 0 17 0 0 0 0 0 0"

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ProcStat
		wantErr bool
	}{
		{"sleep", statLine, ProcStat{PID: 93, Comm: "sleep", State: 'S', PPID: 1, PGRP: 93, Session: 93, TTY: 34816, TPGID: 93,
			Flags: 4194560, UTime: 12, STime: 3, Nice: 0, Threads: 1, Start: 249, VSize: 2314240, RSS: 1}, false},
		{"name with parens and spaces", "7 (a) b) (c) R 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 -5 3 0 42 1000 10",
			ProcStat{PID: 7, Comm: "a) b) (c", State: 'R', PGRP: 1, Session: 1, TPGID: -1, Flags: 4194560, UTime: 5, STime: 6,
				Nice: -5, Threads: 3, Start: 42, VSize: 1000, RSS: 10}, false},
		{"kernel thread", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",
			ProcStat{PID: 2, Comm: "kthreadd", State: 'S', TPGID: -1, Flags: 2129984, Threads: 1, Start: 1}, false},
		{"no parenthesis", "no paren", ProcStat{}, true},
		{"reversed parentheses", "1 )x( S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10", ProcStat{}, true},
		{"short", "1 (x) S 0", ProcStat{}, true},
		{"bad pid", "x1 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10", ProcStat{}, true},
		{"zero pid", "0 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10", ProcStat{}, true},
		{"long state", "1 (x) SS 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10", ProcStat{}, true},
		{"bad number", "1 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 six 7 8 20 0 1 0 42 1000 10", ProcStat{}, true},
		{"negative start", "1 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 -42 1000 10", ProcStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			if err != nil && !errors.Is(err, errMalformed) {
				t.Fatalf("err = %v, want errMalformed", err)
			}
		})
	}
	long, err := parseProcStat([]byte("5 (" + strings.Repeat("x", 500) + ") S 0 1 1 0 -1 0 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10"))
	if err != nil || len(long.Comm) != 64 {
		t.Fatalf("a long name: %d bytes kept, %v; want 64", len(long.Comm), err)
	}
	if k := (&ProcStat{PID: 40, PPID: 2}); !k.Kernel() {
		t.Error("a child of kthreadd is a kernel thread")
	}
	if k := (&ProcStat{PID: 40, PPID: 1, Flags: pfKthread}); !k.Kernel() {
		t.Error("PF_KTHREAD marks a kernel thread")
	}
	if k := (&ProcStat{PID: 40, PPID: 1, Flags: 4194560}); k.Kernel() {
		t.Error("a user process taken for a kernel thread")
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    MemInfo
		wantErr bool
	}{
		{"6.1", "MemTotal:         210888 kB\nMemFree:          150000 kB\nMemAvailable:     160000 kB\nBuffers:            1000 kB\nCached:            20000 kB\nSwapCached:            0 kB\n",
			MemInfo{Total: 210888 << 10, Free: 150000 << 10, Available: 160000 << 10, Buffers: 1000 << 10, Cached: 20000 << 10}, false},
		{"no MemAvailable", "MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n",
			MemInfo{Total: 100 << 10, Free: 10 << 10, Available: 35 << 10, Buffers: 5 << 10, Cached: 20 << 10}, false},
		{"unknown keys skipped", "Foo: bar baz qux\nMemTotal: 100 kB\nMemAvailable: 50 kB\n",
			MemInfo{Total: 100 << 10, Available: 50 << 10}, false},
		{"no MemTotal", "MemFree: 10 kB\n", MemInfo{}, true},
		{"empty", "", MemInfo{}, true},
		{"bad unit", "MemTotal: 100 MB\n", MemInfo{}, true},
		{"bad number", "MemTotal: -100 kB\n", MemInfo{}, true},
		{"absurd", "MemTotal: 99999999999999999 kB\n", MemInfo{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMeminfo([]byte(tt.in))
			if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
				t.Fatalf("got %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if u := (MemInfo{Total: 100, Available: 30}).Used(); u != 70 {
		t.Errorf("Used = %d, want 70", u)
	}
	if u := (MemInfo{Total: 100, Available: 300}).Used(); u != 0 {
		t.Errorf("Used with more available than total = %d, want 0", u)
	}
}

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:  123456     100    0    0    0     0          0         0    65432      50    0    0    0     0       0          0
eth1:1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0
`

func TestParseNetDev(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		rx, tx  uint64
		wantErr bool
	}{
		{"loopback left out", netDev, 123457, 65435, false},
		{"headings only", strings.Join(strings.Split(netDev, "\n")[:2], "\n"), 0, 0, false},
		{"empty", "", 0, 0, false},
		{"short line", "eth0: 1 2 3\n", 0, 0, true},
		{"bad number", "eth0: x 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx, tx, err := parseNetDev([]byte(tt.in))
			if (err != nil) != tt.wantErr || rx != tt.rx || tx != tt.tx {
				t.Fatalf("got %d/%d, %v; want %d/%d (error %v)", rx, tx, err, tt.rx, tt.tx, tt.wantErr)
			}
		})
	}
}

const diskstats = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 100 0 3788 50 0 0 0 0 0 60 50 0 0 0 0 0 0
 254       1 vda1 90 0 3000 50 0 0 0 0 0 60 50 0 0 0 0 0 0
 254      16 vdb 20 5 400 10 30 2 368 40 0 50 50 0 0 0 0 0 0
`

func TestParseDiskstats(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		r, w    uint64
		wantErr bool
	}{
		{"whole virtio disks", diskstats, (3788 + 400) * 512, 368 * 512, false},
		{"old kernel, 14 fields", " 254 0 vda 1 0 8 0 2 0 16 0 0 0 0\n", 8 * 512, 16 * 512, false},
		{"blank lines", "\n\n", 0, 0, false},
		{"short line", " 254 0 vda 1 2\n", 0, 0, true},
		{"bad number", " 254 0 vda 1 0 x 0 2 0 16 0 0 0 0\n", 0, 0, true},
		{"overflowing", " 254 0 vda 1 0 99999999999999999999 0 2 0 16 0 0 0 0\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := parseDiskstats([]byte(tt.in))
			if (err != nil) != tt.wantErr || r != tt.r || w != tt.w {
				t.Fatalf("got %d/%d, %v; want %d/%d (error %v)", r, w, err, tt.r, tt.w, tt.wantErr)
			}
		})
	}
	for name, want := range map[string]bool{"vda": true, "vdab": true, "vda1": false, "vd": false, "sda": false, "vdA": false} {
		if got := wholeVirtioDisk(name); got != want {
			t.Errorf("wholeVirtioDisk(%q) = %v", name, got)
		}
	}
}

func TestParseUptimeAndBootTime(t *testing.T) {
	ups := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"13.09 10.15\n", 1309, false},
		{"13.5 1\n", 1350, false},
		{"13.456 1\n", 1345, false},
		{"13 1\n", 1300, false},
		{"", 0, true},
		{"x.5 1", 0, true},
		{"1.x 1", 0, true},
		{"99999999999 1", 0, true},
	}
	for _, tt := range ups {
		got, err := parseUptime([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseUptime(%q) = %d, %v", tt.in, got, err)
		}
	}
	boots := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"cpu  1 2 3\ncpu0 1 2 3\nintr 5\nctxt 9\nbtime 1795934382\nprocesses 99\n", 1795934382, false},
		{"cpu 1 2 3\n", 0, true},
		{"btime -1\n", 0, true},
		{"btime soon\n", 0, true},
	}
	for _, tt := range boots {
		got, err := parseBootTime([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseBootTime(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestParseIDNamesAndCmdline(t *testing.T) {
	got := parseIDNames([]byte("root:x:0:0:root:/root:/bin/sh\n# comment:x:5:\nbroken line\napp:x:1000:1000::/home/app:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbad:x:nope:0::/:/bin/sh\n:x:7:7::/:\n"))
	want := map[uint32]string{0: "root", 1000: "app"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseIDNames = %v, want %v", got, want)
	}
	cmds := []struct {
		in   string
		want []string
	}{
		{"sleep\x001000\x00", []string{"sleep", "1000"}},
		{"sh\x00-c\x00echo a b\x00", []string{"sh", "-c", "echo a b"}},
		{"nginx: master process", []string{"nginx: master process"}}, // a process that rewrote its arguments
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"", nil},
		{"\x00\x00", nil},
	}
	for _, tt := range cmds {
		if got := splitCmdline([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// guestAnswer is a guest's answer to top's and stats's requests.
func guestAnswer() *proto.ProcData {
	return &proto.ProcData{
		Files: map[string][]byte{
			fileStat:      []byte("cpu 1 2 3\nbtime 1795934382\n"),
			fileUptime:    []byte("13.09 10.15\n"),
			fileMeminfo:   []byte("MemTotal: 210888 kB\nMemFree: 150000 kB\nMemAvailable: 160000 kB\n"),
			fileNetDev:    []byte(netDev),
			fileDiskstats: []byte(diskstats),
			filePasswd:    []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
			fileGroup:     []byte("root:x:0:\napp:x:1000:\n"),
		},
		Procs: []proto.ProcFiles{
			{PID: 94, UID: 1000, GID: 1000, Stat: []byte("94 (sh) S 1 94 94 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 3 0 265 1000 10"), Cmdline: []byte("sh\x00-c\x00x\x00")},
			{PID: 1, Stat: []byte("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 5 0 1 1000 10"), Cmdline: []byte("/init\x00")},
			{PID: 2, Stat: []byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0")},
			{PID: 9, Stat: []byte("9 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0")},
			{PID: 93, Stat: []byte(statLine), Cmdline: []byte("sleep\x00100000\x00")},
		},
	}
}

func TestParseProcessTable(t *testing.T) {
	tbl, err := parseProcessTable(guestAnswer())
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range tbl.Processes {
		pids = append(pids, p.PID)
	}
	if !reflect.DeepEqual(pids, []int{93, 94}) {
		t.Fatalf("processes %v, want 93 and 94: guestinit and kernel threads left out, ordered by PID", pids)
	}
	if p := tbl.Processes[1]; p.UID != 1000 || !reflect.DeepEqual(p.Args, []string{"sh", "-c", "x"}) {
		t.Fatalf("process 94: %+v", p)
	}
	if tbl.Boot != time.Unix(1795934382, 0) || tbl.Uptime != 1309 || tbl.MemTotal != 210888<<10 || tbl.Users[1000] != "app" || tbl.Groups[0] != "root" {
		t.Fatalf("table: boot %v uptime %d mem %d users %v groups %v", tbl.Boot, tbl.Uptime, tbl.MemTotal, tbl.Users, tbl.Groups)
	}
	u, err := parseUsage(guestAnswer())
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{Memory: MemInfo{Total: 210888 << 10, Free: 150000 << 10, Available: 160000 << 10},
		NetRx: 123457, NetTx: 65435, BlockRead: (3788 + 400) * 512, BlockWrite: 368 * 512, PIDs: 4}
	if *u != want {
		t.Fatalf("usage %+v, want %+v", *u, want)
	}

	for name, spoil := range map[string]func(d *proto.ProcData){
		"no btime":         func(d *proto.ProcData) { delete(d.Files, fileStat) },
		"no uptime":        func(d *proto.ProcData) { delete(d.Files, fileUptime) },
		"no meminfo":       func(d *proto.ProcData) { delete(d.Files, fileMeminfo) },
		"bad stat":         func(d *proto.ProcData) { d.Procs[0].Stat = []byte("garbage") },
		"stat of another":  func(d *proto.ProcData) { d.Procs[0].PID = 95 },
		"bad net/dev line": func(d *proto.ProcData) { d.Files[fileNetDev] = []byte("eth0: 1\n") },
	} {
		d := guestAnswer()
		spoil(d)
		_, err1 := parseProcessTable(d)
		_, err2 := parseUsage(d)
		if err1 == nil && err2 == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCPUQuota(t *testing.T) {
	tests := []struct {
		cpus  float64
		vcpus int
		want  int64
	}{
		{0, 1, -1},      // no --cpus
		{1, 1, -1},      // the VM cannot use more anyway
		{2, 1, -1},      // more than the VM has until its next start
		{0.5, 1, 50000}, // a fraction caps
		{1.5, 2, 150000},
		{1, 2, 100000}, // an update below the vCPUs the VM booted with
		{0.001, 1, 1000},
	}
	for _, tt := range tests {
		if got := cpuQuota(tt.cpus, tt.vcpus); got != tt.want {
			t.Errorf("cpuQuota(%g, %d) = %d, want %d", tt.cpus, tt.vcpus, got, tt.want)
		}
	}
}

// TestCgroupFiles runs the cgroup code against fake v1 and v2 trees.
func TestCgroupFiles(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, v2 := range []bool{false, true} {
		fsRoot := t.TempDir()
		old := cgroupFS
		cgroupFS = fsRoot
		t.Cleanup(func() { cgroupFS = old })
		write := func(p, s string) {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		read := func(p string) string {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if v2 {
			write(filepath.Join(fsRoot, "cgroup.controllers"), "cpuset cpu io memory pids\n")
			write(filepath.Join(fsRoot, "cgroup.subtree_control"), "memory\n")
		} else {
			write(filepath.Join(fsRoot, "cpu", "cpu.cfs_quota_us"), "-1\n")
		}
		cg, err := boxCgroup(id)
		if err != nil {
			t.Fatalf("v2=%v: %v", v2, err)
		}
		if err := cg.add(4242); err != nil {
			t.Fatal(err)
		}
		if got := read(filepath.Join(cg.dir, "cgroup.procs")); got != "4242" {
			t.Fatalf("cgroup.procs %q", got)
		}
		if err := cg.setQuota(50000); err != nil {
			t.Fatal(err)
		}
		if v2 {
			if cg.dir != filepath.Join(fsRoot, "a3s-box", id[:12]) {
				t.Fatalf("dir %s", cg.dir)
			}
			for _, d := range []string{fsRoot, filepath.Join(fsRoot, "a3s-box")} {
				if got := read(filepath.Join(d, "cgroup.subtree_control")); got != "+cpu" {
					t.Fatalf("%s subtree_control %q, want +cpu", d, got)
				}
			}
			if got := read(filepath.Join(cg.dir, "cpu.max")); got != "50000 100000" {
				t.Fatalf("cpu.max %q", got)
			}
			if err := cg.setQuota(-1); err != nil || read(filepath.Join(cg.dir, "cpu.max")) != "max 100000" {
				t.Fatalf("no quota: cpu.max %q, %v", read(filepath.Join(cg.dir, "cpu.max")), err)
			}
		} else {
			if cg.dir != filepath.Join(fsRoot, "cpu", "a3s-box", id[:12]) {
				t.Fatalf("dir %s", cg.dir)
			}
			if q, p := read(filepath.Join(cg.dir, "cpu.cfs_quota_us")), read(filepath.Join(cg.dir, "cpu.cfs_period_us")); q != "50000" || p != "100000" {
				t.Fatalf("quota %q period %q", q, p)
			}
		}
	}
	cgroupFS = t.TempDir()
	if _, err := boxCgroup(id); err == nil {
		t.Fatal("a host without a cpu controller gave a cgroup")
	}
}

// FuzzProcParsers feeds every parser of a guest's /proc arbitrary bytes,
// and the whole answer path (a ProcData frame's JSON) too: nothing may
// panic, and what is accepted must make sense.
func FuzzProcParsers(f *testing.F) {
	for _, s := range []string{statLine, netDev, diskstats, "MemTotal: 1 kB\nMemAvailable: 2 kB\n", "13.09 1", "btime 5\n",
		"root:x:0:0::/:/bin/sh\n", "a\x00b\x00"} {
		f.Add([]byte(s))
	}
	if b, err := json.Marshal(guestAnswer()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := parseProcStat(data); err == nil && (p.PID <= 0 || len(p.Comm) > 64) {
			t.Fatalf("accepted stat %+v", p)
		}
		if m, err := parseMeminfo(data); err == nil && (m.Total == 0 || m.Used() > m.Total) {
			t.Fatalf("accepted meminfo %+v", m)
		}
		_, _, _ = parseNetDev(data)
		_, _, _ = parseDiskstats(data)
		_, _ = parseUptime(data)
		_, _ = parseBootTime(data)
		for id, name := range parseIDNames(data) {
			if name == "" || len(name) > 64 || strings.Contains(name, ":") {
				t.Fatalf("name %q for %d", name, id)
			}
		}
		_ = splitCmdline(data)
		var d proto.ProcData
		if json.Unmarshal(data, &d) == nil {
			if tbl, err := parseProcessTable(&d); err == nil {
				for _, p := range tbl.Processes {
					if p.PID == 1 || p.Kernel() {
						t.Fatalf("process %d shown", p.PID)
					}
				}
			}
			if u, err := parseUsage(&d); err == nil && u.PIDs < 0 {
				t.Fatalf("usage %+v", u)
			}
		}
	})
}
