// Command bootbench measures `a3s-box run --rm IMAGE true` against a bare
// QEMU boot of the same kernel, initramfs and disks to guest ready (the
// guest's hello), and prints the medians and their ratio.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box, vmlinux and initramfs.img")
	runs := flag.Int("runs", 7, "samples of each")
	flag.Parse()
	if err := bench(*dir, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bootbench:", err)
		os.Exit(1)
	}
}

func bench(dir string, runs int) error {
	ref, stop, err := imagetest.ServeBusybox()
	if err != nil {
		return err
	}
	defer stop()
	root, err := os.MkdirTemp("", "a3s-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	a3s := func() error {
		cmd := exec.Command(filepath.Join(dir, "a3s-box"), "run", "--rm", ref, "true")
		cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+root, "A3S_BOX_ACCEL=tcg")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("a3s-box run: %v: %s", err, out)
		}
		return nil
	}
	if err := a3s(); err != nil { // pulls and caches the rootfs
		return err
	}
	rootfs, _ := filepath.Glob(filepath.Join(root, "images", "rootfs", "*.ext4"))
	if len(rootfs) != 1 {
		return fmt.Errorf("want one cached rootfs, found %v", rootfs)
	}
	bare := func() error { return bareBoot(dir, rootfs[0]) }
	var a3sTimes, bareTimes []time.Duration
	for i := 0; i < runs; i++ { // interleaved, so load drifts hit both alike
		for _, s := range []struct {
			f   func() error
			out *[]time.Duration
		}{{a3s, &a3sTimes}, {bare, &bareTimes}} {
			start := time.Now()
			if err := s.f(); err != nil {
				return err
			}
			*s.out = append(*s.out, time.Since(start))
		}
	}
	ma, mb := median(a3sTimes), median(bareTimes)
	fmt.Printf("a3s-box run --rm IMAGE true   median %7.3fs  (%d runs: %v)\n", ma.Seconds(), runs, a3sTimes)
	fmt.Printf("bare qemu boot to guest ready median %7.3fs  (%d runs: %v)\n", mb.Seconds(), runs, bareTimes)
	fmt.Printf("ratio %.2f\n", ma.Seconds()/mb.Seconds())
	return nil
}

// bareBoot boots QEMU with the flags a3s-box uses and stops at the hello.
func bareBoot(dir, rootfs string) error {
	tmp, err := os.MkdirTemp("", "a3s-bare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rw := filepath.Join(tmp, "rw.ext4")
	if err := os.WriteFile(rw, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(rw, 1<<30); err != nil {
		return err
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", rw).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs: %v: %s", err, out)
	}
	q := &runtime.QEMU{}
	m := &runtime.Machine{
		Dir: tmp, Socket: filepath.Join(tmp, "ctl.sock"),
		Kernel: filepath.Join(dir, "vmlinux"), Initrd: filepath.Join(dir, "initramfs.img"),
		Cmdline: runtime.KernelCmdline(runtime.AccelTCG), CPUs: 1, MemMiB: 512, Accel: runtime.AccelTCG,
		Disks: []runtime.Disk{{Path: rootfs, ReadOnly: true, Serial: "a3s-image"}, {Path: rw, Serial: "a3s-rw"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	vm, err := q.Start(ctx, m)
	if err != nil {
		return err
	}
	defer vm.Kill()
	conn, err := vm.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return hello(ctx, conn)
}

func hello(ctx context.Context, conn net.Conn) error {
	g, err := runtime.Handshake(ctx, conn)
	if err != nil {
		return err
	}
	_ = g.Shutdown()
	return g.Close()
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
