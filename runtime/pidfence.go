package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStartTime is a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat). A PID together with it names one process
// for ever: a reused PID has another start time.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStartTime(string(b))
}

func parseStartTime(stat string) (uint64, error) {
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line")
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed stat line")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// killFenced kills pid only if it is still the process that started at
// start.
func killFenced(pid int, start uint64) {
	if pid <= 0 || start == 0 {
		return
	}
	if got, err := procStartTime(pid); err == nil && got == start {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
