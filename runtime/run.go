package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

// RunIO connects a foreground box to the terminal.
type RunIO struct {
	ProcessIO
	// Warn receives a3s-box's own notices (retried boots, pull progress).
	Warn io.Writer
	// Signals are forwarded to the box's main process once it runs; before
	// that, the first one cancels the boot.
	Signals <-chan os.Signal
}

// ErrBoot wraps every failure to bring a box's guest up.
var ErrBoot = errors.New("boot failed")

// errNotReady is a boot that missed its deadline: worth another try.
var errNotReady = errors.New("guest not ready")

// forceAfter is how many forwarded signals make a3s-box stop the VM
// itself, for a main process that ignores them.
const forceAfter = 3

// shutdownWait bounds a clean power-off before the VMM is killed.
const shutdownWait = 10 * time.Second

// ResolveImage finds ref in the local store, pulling it when absent, as
// `docker run` does.
func (r *Runtime) ResolveImage(ctx context.Context, ref string, progress io.Writer) (*image.Image, error) {
	img, err := r.Images.Get(ctx, ref)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, image.ErrNotFound) {
		return nil, err
	}
	if progress != nil {
		fmt.Fprintf(progress, "Unable to find image '%s' locally\n", ref)
	}
	return r.Images.Pull(ctx, ref, image.PullOptions{Insecure: r.Config.Insecure, Progress: image.LineProgress(progress)})
}

// Run creates a box from b and runs it in the foreground to its end. It
// returns the box's exit code; an error means a3s-box itself failed, or
// the process could not start (a *StartError carries Docker's code).
func (r *Runtime) Run(ctx context.Context, b *spec.Box, img *image.Image, rio RunIO) (int, error) {
	if err := r.guestFiles(); err != nil {
		return 0, err
	}
	cpus, mem, err := resources(b)
	if err != nil {
		return 0, err
	}
	if f := img.File; f != nil && (f.OS != "" && f.OS != image.Platform.OS || f.Architecture != "" && f.Architecture != image.Platform.Architecture) {
		return 0, fmt.Errorf("image %s is %s/%s: a3s-box boots %s/%s", cmp.Or(img.Ref, img.ID.String()), f.OS, f.Architecture, image.Platform.OS, image.Platform.Architecture)
	}
	rootfs, err := r.Images.Rootfs(ctx, img)
	if err != nil {
		return 0, err
	}
	rec := &BoxRecord{
		ID: newID(), Name: b.Name, Created: time.Now().UTC(), Spec: *b,
		ImageRef: img.Ref, ImageDigest: img.Digest.String(), ImageID: img.ID.String(), Rootfs: rootfs,
	}
	rec.Hostname = b.Hostname
	if rec.Hostname == "" {
		rec.Hostname = rec.ID[:12]
	}
	if rec.Main, err = MainProcess(b, &img.Config, rec.Hostname); err != nil {
		return 0, err
	}
	lock, err := r.createBox(ctx, rec)
	if err != nil {
		return 0, err
	}
	run := &boxRun{r: r, rec: rec, rio: rio, state: &BoxState{Status: StatusCreated}}
	defer lock.Release()
	defer run.teardown()
	return run.run(ctx, cpus, mem)
}

func resources(b *spec.Box) (cpus, memMiB int, err error) {
	cpus, memMiB = DefaultCPUs, DefaultMemMiB
	if b.CPUs < 0 {
		return 0, 0, fmt.Errorf("invalid --cpus %v: must be positive", b.CPUs)
	}
	if b.CPUs > 0 {
		cpus = int(math.Ceil(b.CPUs))
	}
	if b.Memory != 0 {
		if b.Memory < 64<<20 {
			return 0, 0, fmt.Errorf("invalid --memory %d: a box needs at least 64MiB", b.Memory)
		}
		memMiB = int(b.Memory >> 20)
	}
	return cpus, memMiB, nil
}

// boxRun is one foreground run of a box, from boot to teardown.
type boxRun struct {
	r     *Runtime
	rec   *BoxRecord
	rio   RunIO
	state *BoxState
	vm    VM
	guest *Guest

	mu   sync.Mutex // guards proc and vm for the signal goroutine
	proc *Process
}

func (b *boxRun) run(ctx context.Context, cpus, memMiB int) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// interrupted is the signal that cancelled a boot, set by the signal
	// goroutine and read once the boot returns.
	var interrupted atomic.Int32
	stopSignals := make(chan struct{})
	defer close(stopSignals)
	go func() {
		forwarded := 0
		for {
			select {
			case <-stopSignals:
				return
			case s := <-b.rio.Signals:
				sig, _ := s.(syscall.Signal)
				b.mu.Lock()
				p, vm := b.proc, b.vm
				b.mu.Unlock()
				if p == nil {
					interrupted.Store(int32(sig))
					cancel()
					continue
				}
				if forwarded++; forwarded >= forceAfter && vm != nil {
					vm.Kill()
					continue
				}
				_ = p.Signal(sig)
			}
		}
	}()

	dir := b.r.boxDir(b.rec.ID)
	rw := filepath.Join(dir, "rw.ext4")
	if err := makeWritableDisk(ctx, rw, rwDiskSize); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(b.r.runDir(b.rec.ID), 0o700); err != nil {
		return 0, err
	}
	m := &Machine{
		Dir: dir, Socket: b.r.socketPath(b.rec.ID), Kernel: b.r.Kernel, Initrd: b.r.Initrd,
		Cmdline: KernelCmdline(b.r.Accel.Name), CPUs: cpus, MemMiB: memMiB, Accel: b.r.Accel.Name,
		Disks: []Disk{
			{Path: b.rec.Rootfs, ReadOnly: true, Serial: "a3s-image"},
			{Path: rw, Serial: "a3s-rw"},
		},
	}
	if err := b.boot(ctx, m); err != nil {
		if sig := interrupted.Load(); sig != 0 {
			return 128 + int(sig), nil
		}
		return 0, err
	}
	if err := b.guest.Setup(ctx, &proto.Setup{
		Hostname: b.rec.Hostname,
		Hosts:    []proto.HostLine{{IP: "127.0.1.1", Names: []string{b.rec.Hostname}}},
	}); err != nil {
		return 0, err
	}
	p, err := b.guest.Exec(ctx, b.rec.Main, b.rio.ProcessIO)
	if err != nil {
		if sig := interrupted.Load(); sig != 0 {
			return 128 + int(sig), nil
		}
		return 0, err
	}
	b.mu.Lock()
	b.proc = p
	b.mu.Unlock()
	b.state.Status, b.state.StartedAt = StatusRunning, time.Now().UTC()
	_ = b.r.saveState(b.rec.ID, b.state)
	exit, err := p.Wait()
	if err != nil {
		select {
		case <-b.vm.Done():
			return 0, fmt.Errorf("box %s: the VM exited unexpectedly: %v", b.rec.Name, b.vm.Err())
		default:
			return 0, err
		}
	}
	b.state.ExitCode = exit.Code
	return exit.Code, nil
}

// KernelCmdline keeps the guest console quiet and makes a kernel panic
// power the VM off at once instead of hanging. Under TCG the guest's TSC
// calibration against the PIT fails when the host is busy and the boot
// hangs; telling the kernel the TSC rate (the host's, which TCG passes
// through) skips that calibration.
func KernelCmdline(accel string) string {
	cl := "console=ttyS0 panic=-1 quiet"
	if accel == AccelTCG {
		if khz := hostCPUkHz(); khz > 0 {
			cl += fmt.Sprintf(" tsc_early_khz=%d", khz)
		}
	}
	return cl
}

// hostCPUkHz reads the host CPU's clock from /proc/cpuinfo.
func hostCPUkHz() int {
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

// boot starts the VM and waits for the guest's hello, retrying a boot that
// misses its deadline: under emulation a boot occasionally hangs early.
func (b *boxRun) boot(ctx context.Context, m *Machine) error {
	attempts := b.r.bootAttempts()
	var last error
	for i := 1; i <= attempts; i++ {
		os.Remove(m.Socket)
		vm, err := b.r.Driver.Start(ctx, m)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBoot, err)
		}
		b.mu.Lock()
		b.vm = vm
		b.mu.Unlock()
		if st, err := procStartTime(vm.PID()); err == nil {
			b.state.VMMPID, b.state.VMMStart = vm.PID(), st
			_ = b.r.saveState(b.rec.ID, b.state)
		}
		g, err := b.waitReady(ctx, vm, m)
		if err == nil {
			b.guest = g
			return nil
		}
		vm.Kill()
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrBoot, ctx.Err())
		}
		if !errors.Is(err, errNotReady) {
			return fmt.Errorf("%w: %v", ErrBoot, err)
		}
		last = err
		if i < attempts && b.rio.Warn != nil {
			fmt.Fprintf(b.rio.Warn, "a3s-box: box %s: %v; retrying (attempt %d of %d)\n", b.rec.Name, err, i+1, attempts)
		}
	}
	return fmt.Errorf("%w after %d attempts: %v", ErrBoot, attempts, last)
}

func (b *boxRun) waitReady(ctx context.Context, vm VM, m *Machine) (*Guest, error) {
	timeout := b.r.readyTimeout()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := vm.Dial(rctx)
	if err == nil {
		var g *Guest
		if g, err = Handshake(rctx, conn); err == nil {
			return g, nil
		}
		conn.Close()
	}
	select {
	case <-vm.Done():
		return nil, fmt.Errorf("VM exited during boot: %v%s", vm.Err(), consoleTail(m.Dir))
	default:
	}
	if ctx.Err() != nil {
		return nil, err
	}
	if rctx.Err() != nil {
		return nil, fmt.Errorf("%w after %s%s", errNotReady, timeout, consoleTail(m.Dir))
	}
	if errors.Is(err, ErrProtocolMismatch) {
		return nil, err
	}
	// A channel that broke during the handshake is a failed boot like a
	// hung one: worth another try.
	return nil, fmt.Errorf("%w: %v%s", errNotReady, err, consoleTail(m.Dir))
}

// consoleTail is the end of the guest console, to say why a boot failed.
func consoleTail(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "console.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	tail := strings.TrimSpace(strings.Join(lines, " | "))
	if tail == "" {
		return " (guest console empty)"
	}
	return " (guest console: " + tail + ")"
}

// teardown powers the VM off (or kills it), removes sockets and records
// the end, or removes the box when it was run with --rm. It runs on every
// exit path.
func (b *boxRun) teardown() {
	if b.vm != nil {
		// A box run with --rm keeps nothing of its writable disk, so there
		// is nothing for a clean power-off to flush: stop the VM at once.
		if b.guest != nil && !b.rec.Spec.AutoRemove && b.guest.Shutdown() == nil {
			select {
			case <-b.vm.Done():
			case <-time.After(shutdownWait):
			}
		}
		b.vm.Kill()
	}
	if b.guest != nil {
		b.guest.Close()
	}
	if b.rec.Spec.AutoRemove {
		_ = b.r.removeBox(b.rec.ID)
		return
	}
	os.RemoveAll(b.r.runDir(b.rec.ID))
	b.state.Status, b.state.FinishedAt = StatusExited, time.Now().UTC()
	b.state.VMMPID, b.state.VMMStart = 0, 0
	_ = b.r.saveState(b.rec.ID, b.state)
}
