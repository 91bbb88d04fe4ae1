package spec

import (
	"fmt"
	"io"
	"os"
	goruntime "runtime"
)

// The bounds of what a stack or a box may ask for. Each is refused with
// its reason where it is read, before anything is planned or booted.
const (
	// MaxReplicas bounds a box's replicas: every replica is a VM, and a
	// count of 1e8 grew the plan alone to gigabytes.
	MaxReplicas = 1000
	// MaxVCPUs is the most virtual CPUs QEMU's x86 machines (microvm
	// among them) take.
	MaxVCPUs = 288
	// MinMemory is the least memory the guest kernel boots in. Measured
	// under TCG with a3s-box's kernel and initramfs: 64 MiB hangs in
	// early boot, 80 and 96 MiB panic (out of memory unpacking the
	// initramfs), 104 MiB boots with 1 MiB free, 112 MiB boots reliably.
	MinMemory = 112 << 20
	// MaxStackFile is the largest stack or compose file read: a stack
	// is a few kilobytes, and a file is read whole to be parsed.
	MaxStackFile = 4 << 20
)

// MaxCPUs is the most CPUs a box may ask for on this host: a VM gets
// no more CPU time than the host's CPUs, and QEMU takes no more than
// MaxVCPUs.
func MaxCPUs() int { return min(goruntime.NumCPU(), MaxVCPUs) }

// CheckCPUs refuses a CPU count that is negative, not a number, or more
// than MaxCPUs (a larger one would also overflow Docker's NanoCpus).
func CheckCPUs(v float64) error {
	if !(v >= 0) {
		return fmt.Errorf("must be positive, not %v", v)
	}
	if n := MaxCPUs(); v > float64(n) {
		return fmt.Errorf("%v is more than the %d this host gives a box (its CPUs, at most %d)", v, n, MaxVCPUs)
	}
	return nil
}

// CheckMemory refuses a memory size the guest does not boot in; 0 is the
// default.
func CheckMemory(n int64) error {
	if n != 0 && n < MinMemory {
		return fmt.Errorf("%s is too little: the guest kernel needs at least %s to boot (below it, it panics or hangs)", formatSize(n), formatSize(MinMemory))
	}
	return nil
}

func formatSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%dm", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CheckReplicas refuses a replica count below 0 or above MaxReplicas.
func CheckReplicas(n int) error {
	if n < 0 {
		return fmt.Errorf("must not be negative, not %d", n)
	}
	if n > MaxReplicas {
		return fmt.Errorf("%d is more than the %d a box may have", n, MaxReplicas)
	}
	return nil
}

// tooLarge is the one-line refusal of a stack file over MaxStackFile.
func tooLarge(name string, size int64) error {
	return fmt.Errorf("%s:1: the file is %s, more than the %d MiB a stack file may be", name, sizeString(size), MaxStackFile>>20)
}

func sizeString(n int64) string {
	if n > MaxStackFile {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// readStackFile reads a stack file whole, refusing one over MaxStackFile
// by its size before reading it.
func readStackFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxStackFile {
		return nil, tooLarge(path, fi.Size())
	}
	return readBounded(path, f)
}

// readBounded reads r (a pipe or a file that grew) up to MaxStackFile.
func readBounded(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStackFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxStackFile {
		return nil, fmt.Errorf("%s:1: the file is more than the %d MiB a stack file may be", name, MaxStackFile>>20)
	}
	return data, nil
}
