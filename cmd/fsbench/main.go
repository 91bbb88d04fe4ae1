// Command fsbench measures `a3s-box cp` of one large file each way
// between the host and a running box (host -> box, box -> host), beside
// `cat` of the same file into the same host path, and prints the medians
// and the throughput ratio cp/cat (the aim: at least one half). It also
// times a small copy into a stopped box, which pays for a maintenance
// boot.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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
	runs := flag.Int("runs", 5, "samples of each")
	mib := flag.Int("mib", 256, "size of the file copied, in MiB")
	flag.Parse()
	if err := bench(*dir, *runs, *mib); err != nil {
		fmt.Fprintln(os.Stderr, "fsbench:", err)
		os.Exit(1)
	}
}

func bench(dir string, runs, mib int) error {
	ref, stop, err := imagetest.ServeBusybox()
	if err != nil {
		return err
	}
	defer stop()
	work, err := os.MkdirTemp("", "a3s-fsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	var cliCPU time.Duration // of the last command
	a3s := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(dir, "a3s-box"), args...)
		cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+root, "A3S_BOX_ACCEL=tcg")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("a3s-box %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		cliCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return strings.TrimSpace(out.String()), nil
	}
	src, dst := filepath.Join(work, "src"), filepath.Join(work, "dst")
	if err := randomFile(src, int64(mib)<<20); err != nil {
		return err
	}
	const box = "fsbench"
	id, err := a3s("run", "-d", "--name", box, ref, "sleep", "1000000")
	if err != nil {
		return err
	}
	defer a3s("rm", "-f", box)
	time.Sleep(2 * time.Second) // let the boot settle
	vmm, sup, err := boxPIDs(filepath.Join(root, "boxes", id, "state.json"))
	if err != nil {
		return err
	}

	var catT, inT, outT []float64
	// Where a copy's time goes: CPU seconds of QEMU (the emulated guest
	// and its devices), the supervisor's relay and the CLI.
	var inCPU, outCPU cpuUse
	timed := func(into *[]float64, use *cpuUse, f func() error) error {
		os.Remove(dst)
		q0, s0 := cpuSeconds(vmm), cpuSeconds(sup)
		start := time.Now()
		if err := f(); err != nil {
			return err
		}
		*into = append(*into, time.Since(start).Seconds())
		if use != nil {
			use.qemu = append(use.qemu, cpuSeconds(vmm)-q0)
			use.sup = append(use.sup, cpuSeconds(sup)-s0)
			use.cli = append(use.cli, cliCPU.Seconds())
		}
		return nil
	}
	fmt.Printf("copying a %d MiB file, %d runs each way...\n", mib, runs)
	for i := 0; i < runs; i++ {
		if err := timed(&catT, nil, func() error {
			return exec.Command("sh", "-c", `cat "$1" > "$2"`, "cat", src, dst).Run()
		}); err != nil {
			return fmt.Errorf("cat: %w", err)
		}
		if err := timed(&inT, &inCPU, func() error { _, err := a3s("cp", src, box+":/tmp/big"); return err }); err != nil {
			return err
		}
		if err := timed(&outT, &outCPU, func() error { _, err := a3s("cp", box+":/tmp/big", dst); return err }); err != nil {
			return err
		}
	}
	if err := sameFile(src, dst); err != nil {
		return err
	}
	mbps := func(secs float64) float64 { return float64(mib) / secs }
	cat := median(catT)
	fmt.Printf("cat  host -> host   median %6.2f s  %7.1f MiB/s\n", cat, mbps(cat))
	for _, m := range []struct {
		what string
		t    []float64
		use  cpuUse
	}{{"host -> box", inT, inCPU}, {"box -> host", outT, outCPU}} {
		d := median(m.t)
		fmt.Printf("cp   %s    median %6.2f s  %7.1f MiB/s  ratio to cat %.2f  (aim >= 0.50)\n", m.what, d, mbps(d), cat/d)
		fmt.Printf("       CPU s: QEMU %.2f (the emulated guest), supervisor %.2f, a3s-box %.2f\n",
			median(m.use.qemu), median(m.use.sup), median(m.use.cli))
	}

	// A stopped box: every operation boots the box's VM for maintenance.
	if _, err := a3s("stop", "-t", "0", box); err != nil {
		return err
	}
	small := filepath.Join(work, "small")
	if err := os.WriteFile(small, []byte("small\n"), 0o644); err != nil {
		return err
	}
	var stoppedT []float64
	for i := 0; i < min(runs, 3); i++ {
		if err := timed(&stoppedT, nil, func() error { _, err := a3s("cp", small, box+":/tmp/small"); return err }); err != nil {
			return err
		}
	}
	fmt.Printf("cp   small file into a stopped box  median %6.2f s  (a maintenance boot and power-off)\n", median(stoppedT))
	return nil
}

// cpuUse collects CPU seconds per copy.
type cpuUse struct{ qemu, sup, cli []float64 }

// boxPIDs reads a running box's VMM and supervisor from its state.
func boxPIDs(stateFile string) (vmm, sup int, err error) {
	b, err := os.ReadFile(stateFile)
	if err != nil {
		return 0, 0, err
	}
	var st struct {
		VMMPID        int `json:"vmmPid"`
		SupervisorPID int `json:"supervisorPid"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, 0, err
	}
	return st.VMMPID, st.SupervisorPID, nil
}

// cpuSeconds is a process's user plus system time.
func cpuSeconds(pid int) float64 {
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
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

func randomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sameFile checks that the last copy out came back whole.
func sameFile(a, b string) error {
	x, err := os.ReadFile(a)
	if err != nil {
		return err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(x, y) {
		return fmt.Errorf("the file came back from the box different (%d bytes, sent %d)", len(y), len(x))
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
