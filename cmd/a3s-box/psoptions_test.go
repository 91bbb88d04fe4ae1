package main

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/procfs"
)

func TestParsePSOptions(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		keys     string // the columns' keywords
		headers  string // their headings
		noHeader bool
		pids     []int
	}{
		{"Docker's default", nil, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", false, nil},
		{"-ef", []string{"-ef"}, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", false, nil},
		{"-e -f", []string{"-e", "-f"}, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", false, nil},
		{"-fe", []string{"-fe"}, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", false, nil},
		{"aux", []string{"aux"}, psFormatUser, "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND", false, nil},
		{"-aux", []string{"-aux"}, psFormatUser, "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND", false, nil},
		{"auxww", []string{"auxww"}, psFormatUser, "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND", false, nil},
		{"ax", []string{"ax"}, psFormatBSD, "PID TTY STAT TIME COMMAND", false, nil},
		{"-e", []string{"-e"}, psFormatUnix, "PID TTY TIME CMD", false, nil},
		{"-A", []string{"-A"}, psFormatUnix, "PID TTY TIME CMD", false, nil},
		{"-o list", []string{"-o", "pid,comm"}, "pid,comm", "PID COMMAND", false, nil},
		{"-o joined", []string{"-opid,args"}, "pid,args", "PID COMMAND", false, nil},
		{"-eo", []string{"-eo", "pid,ppid,stat"}, "pid,ppid,stat", "PID PPID STAT", false, nil},
		{"-o twice", []string{"-o", "pid", "-o", "user"}, "pid,user", "PID USER", false, nil},
		{"blank separated", []string{"-o", "pid user  %cpu"}, "pid,user,%cpu", "PID USER %CPU", false, nil},
		{"BSD o", []string{"axo", "pid,etime"}, "pid,etime", "PID ELAPSED", false, nil},
		{"GNU --format", []string{"--format", "pid,nlwp"}, "pid,nlwp", "PID NLWP", false, nil},
		{"GNU --format=", []string{"--format=pid,rss"}, "pid,rss", "PID RSS", false, nil},
		{"renamed heading", []string{"-o", "pid,comm=Name Of It,x"}, "pid,comm", "PID Name_Of_It,x", false, nil},
		{"empty headings", []string{"-o", "pid=", "-o", "comm="}, "pid,comm", "_ _", true, nil},
		{"--no-headers", []string{"-ef", "--no-headers"}, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", true, nil},
		{"BSD h", []string{"auxh"}, psFormatUser, "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND", true, nil},
		{"-p", []string{"-f", "-p", "93,94"}, psDefaultDocker, "UID PID PPID C STIME TTY TIME CMD", false, []int{93, 94}},
		{"--pid=", []string{"--pid=7"}, psFormatUnix, "PID TTY TIME CMD", false, []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parsePSOptions(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			var keys, headers []string
			for _, c := range o.columns {
				keys = append(keys, c.key)
				h := strings.ReplaceAll(c.header, " ", "_")
				if h == "" {
					h = "_"
				}
				headers = append(headers, h)
			}
			if got := strings.Join(keys, ","); got != tt.keys {
				t.Errorf("keywords %s, want %s", got, tt.keys)
			}
			if got := strings.Join(headers, " "); got != strings.ReplaceAll(tt.headers, "Name Of It", "Name_Of_It") {
				t.Errorf("headings %s, want %s", got, tt.headers)
			}
			if o.noHeader != tt.noHeader {
				t.Errorf("no header %v, want %v", o.noHeader, tt.noHeader)
			}
			var pids []int
			for p := range o.pids {
				pids = append(pids, p)
			}
			if len(pids) > 1 && pids[0] > pids[1] {
				pids[0], pids[1] = pids[1], pids[0]
			}
			if !reflect.DeepEqual(pids, tt.pids) {
				t.Errorf("pids %v, want %v", pids, tt.pids)
			}
		})
	}
}

func TestParsePSOptionsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-Z"}, `unsupported ps option -Z`},
		{[]string{"-eZ"}, `unsupported ps option -Z (in "-eZ")`},
		{[]string{"auxq"}, `unsupported ps option q (in "auxq")`},
		{[]string{"--forest"}, `unsupported ps option "--forest"`},
		{[]string{"-"}, `unsupported ps option "-"`},
		{[]string{"-o"}, `ps option -o needs a list`},
		{[]string{"--format"}, `ps option --format needs a list`},
		{[]string{"-o", "pid,bogus"}, `unknown ps format keyword "bogus"`},
		{[]string{"-o", ","}, `empty ps format list`},
		{[]string{"-p", "x"}, `invalid process ID "x"`},
		{[]string{"-p", "-3"}, `invalid process ID "-3"`},
	}
	for _, tt := range tests {
		_, err := parsePSOptions(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parsePSOptions(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestPSValues(t *testing.T) {
	for _, tt := range []struct {
		sec   uint64
		hours bool
		want  string
	}{
		{0, true, "00:00:00"}, {59, false, "00:59"}, {3661, false, "01:01:01"}, {90061, true, "1-01:01:01"}, {90061, false, "1-01:01:01"},
	} {
		if got := clock(tt.sec, tt.hours); got != tt.want {
			t.Errorf("clock(%d, %v) = %q, want %q", tt.sec, tt.hours, got, tt.want)
		}
	}
	for nr, want := range map[int]string{0: "?", 34816: "pts/0", 34817: "pts/1", 35072: "pts/256", 1025: "tty1", 1088: "ttyS0", 1281: "console", 2049: "8,1"} {
		if got := ttyName(nr); got != want {
			t.Errorf("ttyName(%d) = %q, want %q", nr, got, want)
		}
	}
	for _, tt := range []struct {
		p    procfs.ProcStat
		want string
	}{
		{procfs.ProcStat{PID: 5, State: 'S', Session: 5, TPGID: -1, PGRP: 5}, "Ss"},
		{procfs.ProcStat{PID: 5, State: 'R', Session: 1, TPGID: 5, PGRP: 5, Threads: 4, Nice: -5}, "R<l+"},
		{procfs.ProcStat{PID: 5, State: 'Z', Session: 1, Nice: 10}, "ZN"},
	} {
		if got := psStat(&runtime.BoxProcess{ProcStat: tt.p}); got != tt.want {
			t.Errorf("psStat(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
	if got := idName(map[uint32]string{7: "averylongname"}, 7); got != "averylo+" {
		t.Errorf("long name %q", got)
	}
	if got := idName(nil, 7); got != "7" {
		t.Errorf("unknown id %q", got)
	}
}

// goldenProcesses is a box's process table at a fixed moment.
func goldenProcesses() (*runtime.ProcessTable, time.Time) {
	boot := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	now := boot.Add(27 * time.Hour) // the next day, 12:00
	up := uint64(now.Sub(boot).Seconds()) * procfs.ClockTicks
	mk := func(pid, ppid int, uid uint32, comm string, args []string, state byte, started time.Duration, cpu uint64, rss int64, threads int64) runtime.BoxProcess {
		return runtime.BoxProcess{
			ProcStat: procfs.ProcStat{PID: pid, PPID: ppid, PGRP: pid, Session: pid, TPGID: -1, Comm: comm, State: state,
				UTime: cpu * 3 / 4, STime: cpu / 4, Threads: threads, Start: uint64(started.Seconds()) * procfs.ClockTicks,
				VSize: 2314240, RSS: rss},
			UID: uid, GID: uid, Args: args,
		}
	}
	t := &runtime.ProcessTable{
		Boot: boot, Uptime: up, MemTotal: 210888 << 10,
		Users:  map[uint32]string{0: "root", 1000: "app", 1001: "longusername"},
		Groups: map[uint32]string{0: "root", 1000: "app"},
		Processes: []runtime.BoxProcess{
			mk(93, 1, 0, "httpd", []string{"httpd", "-f", "-p", "8080"}, 'S', 3*time.Second, 1234, 300, 1),
			mk(94, 93, 1000, "sleep", []string{"sleep", "1000"}, 'S', 26*time.Hour+59*time.Minute, 2, 100, 1),
			mk(95, 93, 1001, "worker", []string{"worker", "--threads", "4"}, 'R', 26*time.Hour+59*time.Minute+50*time.Second, 1200, 5000, 4),
			mk(96, 93, 0, "sh", nil, 'Z', 26*time.Hour, 0, 0, 1),
		},
	}
	t.Processes[2].TTY, t.Processes[2].TPGID = 34816, 95
	return t, now
}

func TestGoldenTop(t *testing.T) {
	tbl, now := goldenProcesses()
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"top-default", nil},
		{"top-aux", []string{"aux"}},
		{"top-custom", []string{"-o", "pid,user,group,comm,args,stat,s,tty,etime,etimes,time,%cpu,c,%mem,vsz,rss,nlwp,ni,stime,start,lstart"}},
	} {
		o, err := parsePSOptions(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		titles, rows := o.render(tbl, now)
		var out bytes.Buffer
		if err := writeTop(&out, titles, rows, o.noHeader); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name+".golden", out.Bytes())
	}
	o, _ := parsePSOptions([]string{"-p", "94", "-o", "pid"})
	if _, rows := o.render(tbl, now); len(rows) != 1 || rows[0][0] != "94" {
		t.Fatalf("-p 94: %v", rows)
	}
}

func TestPSCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string // quoted, truncated as ps shows it
	}{
		{nil, `""`},
		{[]string{"sleep", "300"}, `"sleep 300"`},
		{[]string{"sh", "-c", "echo started; while :; do sleep 0.1; done"}, `"sh -c 'echo started…"`},
		{[]string{"/bin/sh", "-c", "httpd -f -p 8080"}, `"/bin/sh -c 'httpd -…"`},
		{[]string{"/my prog", "a b"}, `"/my prog 'a b'"`},
		{[]string{"echo", `say "hi"`}, `"echo 'say \"hi\"'"`},
	}
	for _, tt := range tests {
		if got := strconv.Quote(truncate(psCommand(tt.args), 20)); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.args, got, tt.want)
		}
	}
}
