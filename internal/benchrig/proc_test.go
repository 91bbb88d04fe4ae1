package benchrig

import (
	"os"
	"testing"
	"time"
)

func TestCPUTicks(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       int64
	}{
		{"plain", "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 3 0 99 0\n", 287},
		{"name with spaces and parentheses", "77 (a) b) c) R 1 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 0", 11},
		{"no name", "1234 S 1 2 3", 0},
		{"too short", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 9", 0},
		{"empty (process gone)", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuTicks(tc.stat); got != tc.want {
				t.Errorf("cpuTicks(%q) = %d, want %d", tc.stat, got, tc.want)
			}
		})
	}
}

func TestKiB(t *testing.T) {
	const status = "Name:\tsupervise\nVmRSS:\t   12345 kB\nRssAnon:\t    4096 kB\n"
	for _, tc := range []struct {
		name, text, key string
		want            float64
	}{
		{"first key", status, "VmRSS:", 12345},
		{"later key", status, "RssAnon:", 4096},
		{"missing key", status, "Pss:", 0},
		{"key is a whole field", status, "VmRSS", 0},
		{"empty", "", "VmRSS:", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kib(tc.text, tc.key); got != tc.want {
				t.Errorf("kib(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}

// The readers work on this very process, which has used some CPU and
// holds some memory.
func TestProcOfSelf(t *testing.T) {
	pid := os.Getpid()
	for deadline := time.Now().Add(2 * time.Second); CPUSeconds(pid) == 0 && time.Now().Before(deadline); {
	}
	if CPUSeconds(pid) <= 0 {
		t.Error("CPUSeconds of this process is 0")
	}
	if RSSMiB(pid) <= 0 {
		t.Error("RSSMiB of this process is 0")
	}
	if CPUSeconds(-1) != 0 || RSSMiB(-1) != 0 {
		t.Error("a process that does not exist reads as non-zero")
	}
}
