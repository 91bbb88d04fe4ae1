package benchrig

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of /proc/PID/stat's CPU times on Linux.
const userHZ = 100

// CPUSeconds is a host process's user plus system CPU time so far, 0 when
// it cannot be read.
func CPUSeconds(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return float64(cpuTicks(string(b))) / userHZ
}

// cpuTicks is utime plus stime (fields 14 and 15) of a /proc/PID/stat
// line, 0 when it has none. The command name may hold spaces and
// parentheses: the fields after it start after the last ')'.
func cpuTicks(stat string) int64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// ProcKiB reads one "Key: N kB" line of /proc/PID/FILE (status,
// smaps_rollup), 0 when it cannot.
func ProcKiB(pid int, file, key string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	return kib(string(b), key)
}

func kib(text, key string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb
		}
	}
	return 0
}

// RSSMiB is a host process's resident memory in MiB.
func RSSMiB(pid int) float64 { return ProcKiB(pid, "status", "VmRSS:") / 1024 }
