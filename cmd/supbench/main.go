// Command supbench measures what a box's supervisor costs while its box
// idles: its resident memory and CPU use over a window, beside the VMM's
// own resident memory, for a few boxes at once; then the round trip of
// `a3s-box exec BOX true` on a warm box.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box and the guest files")
	boxes := flag.Int("boxes", 3, "boxes to run at once")
	idle := flag.Duration("idle", time.Minute, "window over which idle CPU use is measured")
	flag.Parse()
	if err := bench(*dir, *boxes, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "supbench:", err)
		os.Exit(1)
	}
}

func bench(dir string, n int, idle time.Duration) error {
	ref, stop, err := imagetest.ServeBusybox()
	if err != nil {
		return err
	}
	defer stop()
	root, err := os.MkdirTemp("", "a3s-supbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	a3s := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(dir, "a3s-box"), args...)
		cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+root, "A3S_BOX_ACCEL=tcg")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("a3s-box %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	var ids []string
	defer func() {
		for _, id := range ids {
			a3s("rm", "-f", id)
		}
	}()
	for i := 0; i < n; i++ {
		id, err := a3s("run", "-d", ref, "sleep", "1000000")
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	time.Sleep(3 * time.Second) // let boots settle
	type pids struct{ sup, vmm int }
	var ps []pids
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(root, "boxes", id, "state.json"))
		if err != nil {
			return err
		}
		var st struct {
			SupervisorPID int `json:"supervisorPid"`
			VMMPID        int `json:"vmmPid"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		ps = append(ps, pids{st.SupervisorPID, st.VMMPID})
	}
	before := make([]int64, len(ps))
	for i, p := range ps {
		before[i] = cpuTicks(p.sup)
	}
	fmt.Printf("measuring %d idle boxes for %s...\n", n, idle)
	time.Sleep(idle)
	var supRSS, supPSS, supAnon, vmmRSS, supCPU []float64
	const ticks = 100 // USER_HZ
	for i, p := range ps {
		supRSS = append(supRSS, rssMiB(p.sup))
		supPSS = append(supPSS, procKiB(p.sup, "smaps_rollup", "Pss:")/1024)
		supAnon = append(supAnon, procKiB(p.sup, "status", "RssAnon:")/1024)
		vmmRSS = append(vmmRSS, rssMiB(p.vmm))
		used := float64(cpuTicks(p.sup)-before[i]) / ticks
		supCPU = append(supCPU, 100*used/idle.Seconds())
	}
	fmt.Printf("supervisor RSS per box   median %6.1f MiB  (aim < 15 MiB)\n", median(supRSS))
	fmt.Printf("  of which its own (anon) median %6.1f MiB; the rest is the a3s-box binary's pages, shared by every supervisor\n", median(supAnon))
	fmt.Printf("supervisor PSS per box   median %6.1f MiB  (its share of the shared pages with %d boxes)\n", median(supPSS), n)
	fmt.Printf("supervisor idle CPU      median %6.3f %%    (aim < 0.1 %%)\n", median(supCPU))
	fmt.Printf("VMM (QEMU) RSS per box   median %6.1f MiB\n", median(vmmRSS))
	fmt.Printf("supervisor/VMM RSS ratio        %6.3f\n", median(supRSS)/median(vmmRSS))

	// exec round trip on a warm box: a3s-box process start, supervisor
	// relay, guest process start and exit.
	var lat []float64
	for i := 0; i < 20; i++ {
		start := time.Now()
		if _, err := a3s("exec", ids[0], "true"); err != nil {
			return err
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
	}
	fmt.Printf("exec BOX true round trip median %6.1f ms   (aim < 50 ms, 20 runs)\n", median(lat))
	return nil
}

func rssMiB(pid int) float64 { return procKiB(pid, "status", "VmRSS:") / 1024 }

// procKiB reads one "Key: N kB" line of /proc/PID/file.
func procKiB(pid int, file, key string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb
		}
	}
	return 0
}

// cpuTicks is a process's user plus system time in clock ticks.
func cpuTicks(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
