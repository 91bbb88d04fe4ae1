// Package runtime is everything that touches a box: the host side of the
// guest protocol, the box's state on disk, its supervisor and the verbs
// that drive it. It runs one box from boot to teardown, on the packages
// below it: the image store (runtime/image), volumes (runtime/volume),
// networks (runtime/network), the VMM driver (runtime/vmm), the host
// around a VMM process (runtime/host) and the parsers of /proc
// (runtime/procfs).
package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/runtime/volume"
)

// Version is a3s-box's version, set at build time.
var Version = "dev"

// Defaults for a box that does not say.
const (
	DefaultCPUs   = 1
	DefaultMemMiB = 512
	// rwDiskSize is the writable disk's apparent size; the file is sparse
	// and grows with what the box writes.
	rwDiskSize = 16 << 30
)

// Runtime runs boxes under one root directory.
type Runtime struct {
	Config *Config
	Accel  vmm.Accel
	Driver vmm.Driver
	Images *image.Store
	// Volumes is the volume store, <root>/volumes.
	Volumes *volume.Store
	// Networks are the root's networks.
	Networks *network.Store
	Kernel   string
	Initrd   string
	// SupervisorCommand makes the command that runs box id's supervisor
	// (see Supervise); attach holds its main process for an attach.
	SupervisorCommand func(id string, attach bool) *exec.Cmd
	root              string
	runBase           string
}

// New opens the root directory, resolves the guest kernel, initramfs and
// accelerator, and repairs what a crashed a3s-box left behind.
func New(ctx context.Context, cfg *Config) (*Runtime, error) {
	r := &Runtime{Config: cfg, root: cfg.Root, Driver: &vmm.QEMU{Binary: cfg.QEMU}}
	for _, d := range []string{r.root, r.boxesDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open root %s: %w", r.root, err)
		}
	}
	if err := privateRoot(r.root); err != nil {
		return nil, err
	}
	base, err := openRunBase(r.root)
	if err != nil {
		return nil, err
	}
	r.runBase = base
	src := cfg.AccelSource
	if src == "" {
		src = "config"
	}
	accel, err := vmm.ChooseAccel(cfg.Accel, src)
	if err != nil {
		return nil, err
	}
	r.Accel = accel
	images, err := OpenImages(cfg)
	if err != nil {
		return nil, err
	}
	r.Images = images
	if r.Volumes, err = volume.Open(r.volumesDir()); err != nil {
		return nil, err
	}
	r.Networks = network.Open(r.root)
	r.Networks.BoxName = func(id string) string {
		if b, err := r.readBox(id); err == nil {
			return b.Name
		}
		return ""
	}
	r.Networks.Event = func(n *network.Network, action, boxID string) {
		attrs := map[string]string{"name": n.Name, "type": network.Driver}
		if boxID != "" {
			attrs["container"] = boxID
		}
		r.emitObject("network", n.ID, action, attrs)
	}
	if err := r.repair(ctx); err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	return r, nil
}

// Root is the state directory.
func (r *Runtime) Root() string { return r.root }

// guestFiles resolves the kernel (preferring vmlinux, the uncompressed
// kernel that QEMU boots through PVH: under emulation, decompressing an xz
// bzImage costs seconds) and the initramfs on first use, so verbs that boot nothing
// work without them.
func (r *Runtime) guestFiles() error {
	if r.Kernel != "" {
		return nil
	}
	k, err := guestFile(r.Config.Kernel, "kernel", "vmlinux", "vmlinuz")
	if err != nil {
		return err
	}
	i, err := guestFile(r.Config.Initrd, "initramfs", "initramfs.img")
	if err != nil {
		return err
	}
	r.Kernel, r.Initrd = k, i
	return nil
}

// GuestFiles returns the kernel and initramfs boxes boot.
func (r *Runtime) GuestFiles() (kernel, initrd string, err error) {
	err = r.guestFiles()
	return r.Kernel, r.Initrd, err
}

func (r *Runtime) readyTimeout() time.Duration {
	if r.Config.ReadyTimeout > 0 {
		return time.Duration(r.Config.ReadyTimeout)
	}
	if r.Accel.Name == vmm.AccelKVM {
		return 10 * time.Second
	}
	return 20 * time.Second
}

func (r *Runtime) bootAttempts() int {
	if r.Config.BootAttempts > 0 {
		return r.Config.BootAttempts
	}
	return 3
}
