package vmm

import (
	"fmt"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// A box's volumes and bind mounts reach its VM through one 9p device:
// QEMU's microvm machine has only eight virtio-mmio transports, and the
// disks, the control port, network cards and a balloon need most of them.
// The share is a directory under the box's run directory with one entry
// per mount (and the spool directory, see the runtime's spool.go), each a
// bind mount of the mount's host source (read-only for a read-only
// mount); the guest mounts the share once and bind-mounts each entry to
// its target. The runtime makes the directory and its entries
// (prepareShare); this package mounts them and hands them to QEMU.
//
// The bind mounts exist only in a mount namespace of QEMU's own: the
// supervisor makes them on a thread that left the host's mount namespace
// and starts QEMU from that thread. The host's namespace never sees them,
// so nothing has to be unmounted on any exit path and a crashed
// supervisor leaks none (the kernel drops the namespace with its last
// process), and removing a run directory can never reach into a
// volume's data.

// Share is the directory a box's volumes and bind mounts are shared from.
type Share struct {
	Dir   string
	Binds []ShareBind
}

// ShareBind is one entry of a share: Source (a host directory or file)
// mounted at Dir/Entry.
type ShareBind struct {
	Source   string
	Entry    string
	ReadOnly bool
}

// qemuArgs are the share's device: one virtio-9p device. multidevs=remap
// keeps inode numbers of the entries' different host filesystems from
// colliding in the guest; security_model=none stores owners and modes as
// the guest sets them (QEMU runs as root).
func (s *Share) qemuArgs() []string {
	if s == nil {
		return nil
	}
	return []string{
		"-fsdev", "local,id=share,path=" + qemuEscape(s.Dir) + ",security_model=none,multidevs=remap",
		"-device", "virtio-9p-device,fsdev=share,mount_tag=" + proto.ShareTag,
	}
}

// qemuEscape escapes a value for QEMU's comma-separated options.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// startVMM starts cmd and runs wait (which waits for it) in the
// background. With a share, cmd starts in a mount namespace of its own
// where the share's entries are mounted.
func startVMM(cmd *exec.Cmd, sh *Share, wait func()) error {
	if sh == nil || len(sh.Binds) == 0 {
		if err := cmd.Start(); err != nil {
			return err
		}
		go wait()
		return nil
	}
	started := make(chan error, 1)
	go func() {
		// The thread leaves the host's mount namespace, so it must never
		// run another goroutine: it stays locked and dies with this one.
		// It also lives as long as QEMU: Pdeathsig fires when the thread
		// that started the process exits, not the process.
		goruntime.LockOSThread()
		if err := enterShareNamespace(sh); err != nil {
			started <- err
			return
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		wait()
	}()
	return <-started
}

// enterShareNamespace moves the calling thread into a new mount
// namespace, where mounts of the host propagate in but none go out, and
// mounts the share's entries.
func enterShareNamespace(sh *Share) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("share volumes: new mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("share volumes: %w", err)
	}
	for _, b := range sh.Binds {
		dst := filepath.Join(sh.Dir, b.Entry)
		if err := unix.Mount(b.Source, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("share %s: %w", b.Source, err)
		}
		if b.ReadOnly {
			if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("share %s read-only: %w", b.Source, err)
			}
		}
	}
	return nil
}
