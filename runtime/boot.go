package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

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
	return r.ResolveImagePolicy(ctx, ref, PullMissing, progress)
}

// Pull policies of run and create (--pull).
const (
	PullMissing = "missing" // pull when the image is not here
	PullAlways  = "always"  // pull even when it is
	PullNever   = "never"   // use the image here, or fail
)

// ResolveImagePolicy finds ref's image as policy says.
func (r *Runtime) ResolveImagePolicy(ctx context.Context, ref, policy string, progress io.Writer) (*image.Image, error) {
	pull := func() (*image.Image, error) {
		return r.Images.Pull(ctx, ref, image.PullOptions{Insecure: r.Config.Insecure, Progress: image.LineProgress(progress)})
	}
	if policy == PullAlways {
		return pull()
	}
	img, err := r.Images.Get(ctx, ref)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, image.ErrNotFound) {
		return nil, err
	}
	if policy == PullNever {
		return nil, fmt.Errorf("no such image: %s (--pull never)", ref)
	}
	if progress != nil {
		fmt.Fprintf(progress, "Unable to find image '%s' locally\n", ref)
	}
	return pull()
}

func resources(b *spec.Box) (cpus, memMiB int, err error) {
	cpus, memMiB = DefaultCPUs, DefaultMemMiB
	if err := spec.CheckCPUs(b.CPUs); err != nil {
		return 0, 0, fmt.Errorf("invalid --cpus: %w", err)
	}
	if b.CPUs > 0 {
		cpus = int(math.Ceil(b.CPUs))
	}
	if b.Memory != 0 {
		if err := spec.CheckMemory(b.Memory); err != nil {
			return 0, 0, fmt.Errorf("invalid --memory: %w", err)
		}
		memMiB = int(b.Memory >> 20)
	}
	return cpus, memMiB, nil
}

// KernelCmdline keeps the guest console quiet and makes a kernel panic
// power the VM off at once instead of hanging. Under TCG the guest's TSC
// calibration against the PIT fails when the host is busy and the boot
// hangs; telling the kernel the TSC rate (the host's, which TCG passes
// through) skips that calibration. tsc=reliable keeps the clocksource
// watchdog from demoting the TSC when emulation delays timer ticks: the
// guest would fall back to jiffies, whose 4 ms steps give processes equal
// clock readings (resolvers then send two queries with one ID).
func KernelCmdline(accel string) string {
	cl := "console=ttyS0 panic=-1 quiet"
	if accel == vmm.AccelTCG {
		if khz := host.CPUkHz(); khz > 0 {
			cl += fmt.Sprintf(" tsc_early_khz=%d tsc=reliable", khz)
		}
	}
	return cl
}

// boot starts the VM and waits for the guest's hello, recording the
// VMM in the box's state.
func (s *supervisor) boot(ctx context.Context, m *vmm.Machine) error {
	_, g, err := s.r.bootVM(ctx, m, s.rec.Name, func(vm vmm.VM) {
		s.mu.Lock()
		s.vm, s.machine = vm, m
		s.cgroup = s.limitCPU(vm.PID(), m.CPUs)
		s.memCgroup = s.limitVMMMemory(vm.PID(), m)
		if st, err := host.ProcStartTime(vm.PID()); err == nil {
			s.st.VMMPID, s.st.VMMStart = vm.PID(), st
			s.st.VCPUs, s.st.Memory = m.CPUs, int64(m.MemMiB)<<20
			_ = s.r.saveState(s.rec.ID, s.st)
		}
		s.mu.Unlock()
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.guest = g
	s.mu.Unlock()
	return nil
}

// bootVM starts m's VM and waits for the guest's hello, retrying a boot
// that misses its deadline: under emulation a boot occasionally hangs
// early. started learns of each VMM as it starts.
func (r *Runtime) bootVM(ctx context.Context, m *vmm.Machine, name string, started func(vmm.VM)) (vmm.VM, *Guest, error) {
	attempts := r.bootAttempts()
	var last error
	for i := 1; i <= attempts; i++ {
		slot, err := r.bootSlot(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: wait for a boot slot: %v", ErrBoot, err)
		}
		os.Remove(m.Socket)
		vm, err := r.Driver.Start(ctx, m)
		if err != nil {
			slot.Release()
			return nil, nil, fmt.Errorf("%w: %v", ErrBoot, err)
		}
		if started != nil {
			started(vm)
		}
		g, err := r.waitReady(ctx, vm, m)
		slot.Release()
		if err == nil {
			return vm, g, nil
		}
		vm.Kill()
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBoot, ctx.Err())
		}
		if !errors.Is(err, errNotReady) {
			return nil, nil, fmt.Errorf("%w: %v", ErrBoot, err)
		}
		last = err
		if i < attempts {
			fmt.Fprintf(os.Stderr, "box %s: %v; retrying (attempt %d of %d)\n", name, err, i+1, attempts)
		}
	}
	return nil, nil, fmt.Errorf("%w after %d attempts: %v", ErrBoot, attempts, last)
}

func (r *Runtime) waitReady(ctx context.Context, vm vmm.VM, m *vmm.Machine) (*Guest, error) {
	timeout := r.readyTimeout()
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
