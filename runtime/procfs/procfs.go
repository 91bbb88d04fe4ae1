// Package procfs parses the /proc files a3s-box reads: a guest's (with
// its /etc/passwd and /etc/group), which a box's `top` and `stats` are
// made of, and the host's own (a VMM's stat, the host's meminfo). It stands apart because it is pure and hardened:
// it reads bytes and touches nothing, and a guest's bytes are hostile.
package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Those of the host's own /proc (the VMM's stat) are trusted; those of a
// guest's are not: a box's processes run with the guest's full
// privileges and may answer anything, so every parser here bounds what
// it keeps and fails on malformed input rather than guessing. They are
// fuzzed (FuzzParsers).

// ClockTicks is the unit of the times in /proc (USER_HZ): 100 on every
// Linux architecture a3s-box boots.
const ClockTicks = 100

// ProcStat is what a3s-box reads of one /proc/PID/stat line.
type ProcStat struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	State   byte   `json:"state"`
	PPID    int    `json:"ppid"`
	PGRP    int    `json:"pgrp"`
	Session int    `json:"session"`
	TTY     int    `json:"tty"` // tty_nr: major in bits 8-15 (and 20-31), minor in 0-7 and 20-31
	TPGID   int    `json:"tpgid"`
	Flags   uint64 `json:"flags"`
	UTime   uint64 `json:"utime"` // clock ticks
	STime   uint64 `json:"stime"`
	Nice    int64  `json:"nice"`
	Threads int64  `json:"threads"`
	Start   uint64 `json:"start"` // clock ticks after boot
	VSize   uint64 `json:"vsize"` // bytes
	RSS     int64  `json:"rss"`   // pages
}

// pfKthread marks a kernel thread in a stat line's flags.
const pfKthread = 0x00200000

// Kernel reports a kernel thread: no process of the box.
func (p *ProcStat) Kernel() bool {
	return p.Flags&pfKthread != 0 || p.PID == 2 || p.PPID == 2
}

var errMalformed = errors.New("malformed")

// ParseProcStat reads a /proc/PID/stat line. The command name may hold
// spaces and parentheses: the fields after it start after the last ')'.
func ParseProcStat(b []byte) (ProcStat, error) {
	var p ProcStat
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return p, fmt.Errorf("stat line: %w", errMalformed)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return p, fmt.Errorf("stat line: %w pid", errMalformed)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); rss is field 24.
	if len(f) < 22 || len(f[0]) != 1 {
		return p, fmt.Errorf("stat line: %w", errMalformed)
	}
	p.PID, p.Comm, p.State = pid, string(b[open+1:end]), f[0][0]
	if len(p.Comm) > 64 {
		p.Comm = p.Comm[:64]
	}
	ints := []*int{&p.PPID, &p.PGRP, &p.Session, &p.TTY, &p.TPGID}
	for i, dst := range ints {
		if *dst, err = strconv.Atoi(f[1+i]); err != nil {
			return p, fmt.Errorf("stat line field %d: %w", 4+i, errMalformed)
		}
	}
	uints := []struct {
		dst *uint64
		i   int
	}{{&p.Flags, 6}, {&p.UTime, 11}, {&p.STime, 12}, {&p.Start, 19}, {&p.VSize, 20}}
	for _, u := range uints {
		if *u.dst, err = strconv.ParseUint(f[u.i], 10, 64); err != nil {
			return p, fmt.Errorf("stat line field %d: %w", u.i+3, errMalformed)
		}
	}
	signed := []struct {
		dst *int64
		i   int
	}{{&p.Nice, 16}, {&p.Threads, 17}, {&p.RSS, 21}}
	for _, s := range signed {
		if *s.dst, err = strconv.ParseInt(f[s.i], 10, 64); err != nil {
			return p, fmt.Errorf("stat line field %d: %w", s.i+3, errMalformed)
		}
	}
	return p, nil
}

// MemInfo is what a3s-box reads of /proc/meminfo, in bytes.
type MemInfo struct {
	Total     uint64 `json:"total"`
	Free      uint64 `json:"free"`
	Available uint64 `json:"available"`
	Buffers   uint64 `json:"buffers"`
	Cached    uint64 `json:"cached"`
}

// Used is the memory the guest cannot give back without swapping: its
// total less what is available (free memory and reclaimable caches),
// the closest the guest has to a cgroup's usage less its inactive cache,
// which is what Docker shows.
func (m MemInfo) Used() uint64 {
	if m.Available > m.Total {
		return 0
	}
	return m.Total - m.Available
}

// ParseMeminfo reads /proc/meminfo ("Key:   value kB" lines).
func ParseMeminfo(b []byte) (MemInfo, error) {
	var m MemInfo
	fields := map[string]*uint64{
		"MemTotal": &m.Total, "MemFree": &m.Free, "MemAvailable": &m.Available,
		"Buffers": &m.Buffers, "Cached": &m.Cached,
	}
	avail := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := fields[k]
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			return m, fmt.Errorf("meminfo %s: %w", k, errMalformed)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || n > 1<<50 {
			return m, fmt.Errorf("meminfo %s: %w", k, errMalformed)
		}
		*dst = n << 10
		avail = avail || k == "MemAvailable"
	}
	if m.Total == 0 {
		return m, fmt.Errorf("meminfo: %w: no MemTotal", errMalformed)
	}
	if !avail {
		// Kernels before 3.14 have no MemAvailable.
		m.Available = min(m.Total, m.Free+m.Buffers+m.Cached)
	}
	return m, nil
}

// ParseNetDev sums the received and sent bytes of every interface of
// /proc/net/dev but the loopback, as Docker's NET I/O does.
func ParseNetDev(b []byte) (rx, tx uint64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.Contains(name, "|") {
			continue // the two heading lines
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if len(f) < 16 {
			return 0, 0, fmt.Errorf("net/dev %q: %w", name, errMalformed)
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("net/dev %q: %w", name, errMalformed)
		}
		if name != "lo" {
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx, nil
}

// ParseDiskstats sums the bytes read and written of the guest's virtio
// disks (vda, vdb, ...; partitions left out, so nothing counts twice)
// from /proc/diskstats, whose counts are in 512-byte sectors.
func ParseDiskstats(b []byte) (read, written uint64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return 0, 0, fmt.Errorf("diskstats: %w line", errMalformed)
		}
		if !wholeVirtioDisk(f[2]) {
			continue
		}
		r, err1 := strconv.ParseUint(f[5], 10, 64)
		w, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || r > 1<<54 || w > 1<<54 {
			return 0, 0, fmt.Errorf("diskstats %q: %w", f[2], errMalformed)
		}
		read, written = read+r*512, written+w*512
	}
	return read, written, nil
}

// wholeVirtioDisk reports a virtio block disk's name (vda, vdab), not a
// partition's (vda1).
func wholeVirtioDisk(name string) bool {
	rest, ok := strings.CutPrefix(name, "vd")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// ParseUptime reads /proc/uptime's first number, in hundredths of a
// second: the clock ticks a process's start is counted in.
func ParseUptime(b []byte) (uint64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("uptime: %w", errMalformed)
	}
	sec, frac, _ := strings.Cut(f[0], ".")
	s, err := strconv.ParseUint(sec, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("uptime: %w", errMalformed)
	}
	var cs uint64
	if frac != "" {
		frac = (frac + "00")[:2]
		if cs, err = strconv.ParseUint(frac, 10, 8); err != nil {
			return 0, fmt.Errorf("uptime: %w", errMalformed)
		}
	}
	return s*ClockTicks + cs, nil
}

// ParseBootTime reads the btime line of /proc/stat: the guest's boot, in
// seconds since the epoch.
func ParseBootTime(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 || n > 1<<40 {
				return 0, fmt.Errorf("stat btime: %w", errMalformed)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("stat: %w: no btime", errMalformed)
}

// ParseIDNames reads /etc/passwd or /etc/group: the first name given to
// each numeric ID (third field). Malformed lines are skipped, as the C
// library skips them.
func ParseIDNames(b []byte) map[uint32]string {
	names := map[uint32]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") || len(f[0]) > 64 {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, ok := names[uint32(id)]; !ok {
			names[uint32(id)] = f[0]
		}
	}
	return names
}

// SplitCmdline turns /proc/PID/cmdline (NUL-terminated arguments) into
// its arguments.
func SplitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}
