// Package host is what a3s-box reads and changes of the host around a
// box's VMM process: the cpu cgroup that caps its CPU time, its identity
// (a PID fenced by its start time, so a reused PID is never taken for
// it) and the CPU time it has used, and the host's memory and CPU clock.
// It stands apart from the runtime because it knows nothing of boxes
// beyond an ID: it is the host's side, read from /proc and /sys.
package host

import (
	"fmt"
	"os"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/procfs"
)

// MemTotal is the host's total memory in bytes.
func MemTotal() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	m, err := procfs.ParseMeminfo(b)
	return m.Total, err
}

// CPUkHz reads the host CPU's clock from /proc/cpuinfo; 0 when it says
// none.
func CPUkHz() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			var mhz float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%g", &mhz); err == nil {
				return int(mhz * 1000)
			}
		}
	}
	return 0
}
