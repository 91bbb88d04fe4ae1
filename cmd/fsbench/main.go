// Command fsbench measures `a3s-box cp` of one large file each way
// between the host and a running box (host -> box, box -> host), beside
// `cat` of the same file into the same host path, and prints the medians
// and the throughput ratio cp/cat (the aim: at least one half). It also
// times a small copy into a stopped box, which pays for a maintenance
// boot.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box and the guest files")
	runs := flag.Int("runs", 5, "samples of each")
	mib := flag.Int("mib", 256, "size of the file copied, in MiB")
	flag.Parse()
	benchrig.Main("fsbench", *dir, func(ctx context.Context, rig *benchrig.Rig) error { return bench(ctx, rig, *runs, *mib) })
}

func bench(ctx context.Context, rig *benchrig.Rig, runs, mib int) error {
	ref, err := rig.ServeBusybox()
	if err != nil {
		return err
	}
	a3s := func(args ...string) error { _, err := rig.Run(ctx, args...); return err }
	src, dst := filepath.Join(rig.Work, "src"), filepath.Join(rig.Work, "dst")
	if err := randomFile(src, int64(mib)<<20); err != nil {
		return err
	}
	const box = "fsbench"
	id, err := rig.Run(ctx, "run", "-d", "--name", box, ref, "sleep", "1000000")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the boot settle
	pids, err := rig.PIDs(id)
	if err != nil {
		return err
	}

	var catT, inT, outT benchrig.Samples
	// Where a copy's time goes: CPU seconds of QEMU (the emulated guest
	// and its devices), the supervisor's relay and the CLI.
	var inCPU, outCPU cpuUse
	timed := func(into *benchrig.Samples, use *cpuUse, f func() error) error {
		os.Remove(dst)
		q0, s0 := benchrig.CPUSeconds(pids.VMM), benchrig.CPUSeconds(pids.Supervisor)
		if err := into.Time(f); err != nil {
			return err
		}
		if use != nil {
			use.qemu = append(use.qemu, benchrig.CPUSeconds(pids.VMM)-q0)
			use.sup = append(use.sup, benchrig.CPUSeconds(pids.Supervisor)-s0)
			use.cli = append(use.cli, rig.LastCPU.Seconds())
		}
		return nil
	}
	fmt.Printf("copying a %d MiB file, %d runs each way...\n", mib, runs)
	for range runs {
		if err := timed(&catT, nil, func() error {
			return exec.Command("sh", "-c", `cat "$1" > "$2"`, "cat", src, dst).Run()
		}); err != nil {
			return fmt.Errorf("cat: %w", err)
		}
		if err := timed(&inT, &inCPU, func() error { return a3s("cp", src, box+":/tmp/big") }); err != nil {
			return err
		}
		if err := timed(&outT, &outCPU, func() error { return a3s("cp", box+":/tmp/big", dst) }); err != nil {
			return err
		}
	}
	if err := sameFile(src, dst); err != nil {
		return err
	}
	mbps := func(secs float64) float64 { return float64(mib) / secs }
	cat := catT.Median().Seconds()
	fmt.Printf("cat  host -> host   median %6.2f s  %7.1f MiB/s\n", cat, mbps(cat))
	for _, m := range []struct {
		what string
		t    benchrig.Samples
		use  cpuUse
	}{{"host -> box", inT, inCPU}, {"box -> host", outT, outCPU}} {
		d := m.t.Median().Seconds()
		fmt.Printf("cp   %s    median %6.2f s  %7.1f MiB/s  ratio to cat %.2f  (aim >= 0.50)\n", m.what, d, mbps(d), cat/d)
		fmt.Printf("       CPU s: QEMU %.2f (the emulated guest), supervisor %.2f, a3s-box %.2f\n",
			benchrig.Median(m.use.qemu), benchrig.Median(m.use.sup), benchrig.Median(m.use.cli))
	}

	// A stopped box: every operation boots the box's VM for maintenance.
	if err := a3s("stop", "-t", "0", box); err != nil {
		return err
	}
	small := filepath.Join(rig.Work, "small")
	if err := os.WriteFile(small, []byte("small\n"), 0o644); err != nil {
		return err
	}
	var stoppedT benchrig.Samples
	for range min(runs, 3) {
		if err := timed(&stoppedT, nil, func() error { return a3s("cp", small, box+":/tmp/small") }); err != nil {
			return err
		}
	}
	fmt.Printf("cp   small file into a stopped box  median %6.2f s  (a maintenance boot and power-off)\n", stoppedT.Median().Seconds())
	return nil
}

// cpuUse collects CPU seconds per copy.
type cpuUse struct{ qemu, sup, cli []float64 }

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
