package main

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// pfKthread is the kernel's PF_KTHREAD flag in /proc/PID/stat.
const pfKthread = 0x00200000

// freezeBox stops every process of the box with SIGSTOP: freeze's way in
// a guest without the box's cgroup (see cgroup.go). Processes already stopped are left
// alone, so thaw resumes exactly those freezeBox stopped. New processes
// forked meanwhile are caught by repeating the sweep until one stops
// nothing more.
func freezeBox() (thaw func()) {
	stopped := map[int]bool{}
	for range 20 {
		n := 0
		for _, pid := range boxPIDs() {
			if stopped[pid] {
				continue
			}
			state, flags, ok := procState(pid)
			if !ok || flags&pfKthread != 0 || state == 'T' || state == 't' {
				continue
			}
			if unix.Kill(pid, unix.SIGSTOP) == nil {
				stopped[pid] = true
				n++
			}
		}
		if n == 0 {
			break
		}
	}
	// SIGSTOP takes effect when the process next runs: wait for it.
	deadline := time.Now().Add(2 * time.Second)
	for pid := range stopped {
		for time.Now().Before(deadline) {
			if state, _, ok := procState(pid); !ok || state == 'T' {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return func() {
		for pid := range stopped {
			_ = unix.Kill(pid, unix.SIGCONT)
		}
	}
}

// boxPIDs lists every process but guestinit.
func boxPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != 1 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procState reads a process's state letter and flags from /proc/PID/stat.
func procState(pid int) (state byte, flags uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 7 {
		return 0, 0, false
	}
	flags, _ = strconv.ParseUint(string(f[6]), 10, 64)
	return f[0][0], flags, true
}
