package runtime

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/procfs"
)

// statLine is a /proc/PID/stat line of a guest's kernel (6.1).
const statLine = "93 (sleep) S 1 93 93 34816 93 4194560 27 0 15 0 12 3 0 0 20 0 1 0 249 2314240 1 18446744073709551615 4198400 5785993 140728662915264 0 0 0 0 0 0 1 0 0 17 0 0 0 0 0 0"

// netDev is a guest's /proc/net/dev.
const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:  123456     100    0    0    0     0          0         0    65432      50    0    0    0     0       0          0
eth1:1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0
`

// diskstats is a guest's /proc/diskstats.
const diskstats = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 100 0 3788 50 0 0 0 0 0 60 50 0 0 0 0 0 0
 254       1 vda1 90 0 3000 50 0 0 0 0 0 60 50 0 0 0 0 0 0
 254      16 vdb 20 5 400 10 30 2 368 40 0 50 50 0 0 0 0 0 0
`

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
	want := Usage{Memory: procfs.MemInfo{Total: 210888 << 10, Free: 150000 << 10, Available: 160000 << 10},
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

// FuzzProcAnswer feeds the whole answer path (a ProcData frame's JSON)
// arbitrary bytes: nothing may panic, and what is accepted must make
// sense. The parsers of each file are fuzzed in procfs.
func FuzzProcAnswer(f *testing.F) {
	if b, err := json.Marshal(guestAnswer()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
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
