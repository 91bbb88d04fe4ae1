package host

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/runtime/procfs"
)

// ProcStartTime is a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat). A PID together with it names one process
// for ever: a reused PID has another start time.
func ProcStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStartTime(string(b))
}

func parseStartTime(stat string) (uint64, error) {
	p, err := procfs.ParseProcStat([]byte(stat))
	return p.Start, err
}

// KillFenced kills pid only if it is still the process that started at
// start.
func KillFenced(pid int, start uint64) {
	if pid <= 0 || start == 0 {
		return
	}
	if got, err := ProcStartTime(pid); err == nil && got == start {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// VMMCPUTime is the user and system CPU time the VMM process pid (fenced
// by its start time) has used.
func VMMCPUTime(pid int, start uint64) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no VMM process recorded")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read the VMM's CPU time: %w", err)
	}
	st, err := procfs.ParseProcStat(b)
	if err != nil || st.Start != start {
		return 0, errors.New("read the VMM's CPU time: the VMM process is gone")
	}
	return time.Duration(st.UTime+st.STime) * time.Second / procfs.ClockTicks, nil
}
