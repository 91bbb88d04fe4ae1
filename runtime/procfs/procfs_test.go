package procfs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
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
			got, err := ParseProcStat([]byte(tt.in))
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
	long, err := ParseProcStat([]byte("5 (" + strings.Repeat("x", 500) + ") S 0 1 1 0 -1 0 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10"))
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
			got, err := ParseMeminfo([]byte(tt.in))
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
			rx, tx, err := ParseNetDev([]byte(tt.in))
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
			r, w, err := ParseDiskstats([]byte(tt.in))
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
		got, err := ParseUptime([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseUptime(%q) = %d, %v", tt.in, got, err)
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
		got, err := ParseBootTime([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseBootTime(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestParseIDNamesAndCmdline(t *testing.T) {
	got := ParseIDNames([]byte("root:x:0:0:root:/root:/bin/sh\n# comment:x:5:\nbroken line\napp:x:1000:1000::/home/app:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbad:x:nope:0::/:/bin/sh\n:x:7:7::/:\n"))
	want := map[uint32]string{0: "root", 1000: "app"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseIDNames = %v, want %v", got, want)
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
		if got := SplitCmdline([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParsers feeds every parser arbitrary bytes: nothing may panic,
// and what is accepted must make sense.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{statLine, netDev, diskstats, "MemTotal: 1 kB\nMemAvailable: 2 kB\n", "13.09 1", "btime 5\n",
		"root:x:0:0::/:/bin/sh\n", "a\x00b\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ParseProcStat(data); err == nil && (p.PID <= 0 || len(p.Comm) > 64) {
			t.Fatalf("accepted stat %+v", p)
		}
		if m, err := ParseMeminfo(data); err == nil && (m.Total == 0 || m.Used() > m.Total) {
			t.Fatalf("accepted meminfo %+v", m)
		}
		_, _, _ = ParseNetDev(data)
		_, _, _ = ParseDiskstats(data)
		_, _ = ParseUptime(data)
		_, _ = ParseBootTime(data)
		for id, name := range ParseIDNames(data) {
			if name == "" || len(name) > 64 || strings.Contains(name, ":") {
				t.Fatalf("name %q for %d", name, id)
			}
		}
		_ = SplitCmdline(data)
	})
}
