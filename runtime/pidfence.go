package runtime

import (
	"fmt"
	"os"
	"syscall"

	"github.com/a3s-box/a3s-box/runtime/procfs"
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
	p, err := procfs.ParseProcStat([]byte(stat))
	return p.Start, err
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
