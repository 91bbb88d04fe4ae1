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
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/vmm"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box, vmlinux and initramfs.img")
	runs := flag.Int("runs", 7, "samples of each")
	flag.Parse()
	benchrig.Main("bootbench", *dir, func(ctx context.Context, rig *benchrig.Rig) error { return bench(ctx, rig, *dir, *runs) })
}

func bench(ctx context.Context, rig *benchrig.Rig, dir string, runs int) error {
	ref, err := rig.ServeBusybox()
	if err != nil {
		return err
	}
	a3s := func() error { _, err := rig.Run(ctx, "run", "--rm", ref, "true"); return err }
	if err := a3s(); err != nil { // pulls and caches the rootfs
		return err
	}
	rootfs, _ := filepath.Glob(filepath.Join(rig.Root, "images", "rootfs", "*.ext4"))
	if len(rootfs) != 1 {
		return fmt.Errorf("want one cached rootfs, found %v", rootfs)
	}
	bare := func() error { return bareBoot(ctx, dir, rootfs[0]) }
	var a3sTimes, bareTimes benchrig.Samples
	for range runs { // interleaved, so load drifts hit both alike
		if err := a3sTimes.Time(a3s); err != nil {
			return err
		}
		if err := bareTimes.Time(bare); err != nil {
			return err
		}
	}
	ma, mb := a3sTimes.Median(), bareTimes.Median()
	fmt.Printf("a3s-box run --rm IMAGE true   median %7.3fs  (%d runs: %v)\n", ma.Seconds(), runs, a3sTimes)
	fmt.Printf("bare qemu boot to guest ready median %7.3fs  (%d runs: %v)\n", mb.Seconds(), runs, bareTimes)
	fmt.Printf("ratio %.2f\n", ma.Seconds()/mb.Seconds())
	return nil
}

// bareBoot boots QEMU with the flags a3s-box uses and stops at the hello.
func bareBoot(ctx context.Context, dir, rootfs string) error {
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
	q := &vmm.QEMU{}
	m := &vmm.Machine{
		Dir: tmp, Socket: filepath.Join(tmp, "ctl.sock"),
		Kernel: filepath.Join(dir, "vmlinux"), Initrd: filepath.Join(dir, "initramfs.img"),
		Cmdline: runtime.KernelCmdline(vmm.AccelTCG), CPUs: 1, MemMiB: 512, Accel: vmm.AccelTCG,
		Disks: []vmm.Disk{{Path: rootfs, ReadOnly: true, Serial: "a3s-image"}, {Path: rw, Serial: "a3s-rw"}},
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
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
