package vmm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"

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
	// Hide are directories the VMM of a share with entries must not see:
	// a3s-box's state and run directories.
	Hide []string
}

// ShareBind is one entry of a share: Source (a host directory or file)
// mounted at Dir/Entry.
type ShareBind struct {
	Source   string
	Entry    string
	ReadOnly bool
}

// qemuArgs are the share's device: one virtio-9p device on the share
// directory QEMU was handed as descriptor fd. multidevs=remap keeps inode
// numbers of the entries' different host filesystems from colliding in
// the guest; security_model=none stores owners and modes as the guest
// sets them, as far as the VMM's user may (jail.go), and the seccomp
// filter refuses set-id modes and device nodes whatever the guest asks.
func (s *Share) qemuArgs(fd int) []string {
	return []string{
		"-fsdev", fmt.Sprintf("local,id=share,path=/proc/self/fd/%d,security_model=none,multidevs=remap", fd),
		"-device", "virtio-9p-device,fsdev=share,mount_tag=" + proto.ShareTag,
	}
}

// startVMM starts cmd, handed l's descriptors, and runs wait (which
// waits for it) in the background. With a share, the share directory is
// opened for QEMU; a share with entries is mounted in a mount namespace
// of QEMU's own, and cmd starts there.
func startVMM(cmd *exec.Cmd, sh *Share, l *launch, wait func()) error {
	if sh == nil || len(sh.Binds) == 0 {
		if err := openShare(sh, l); err != nil {
			return err
		}
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
		if err := openShare(sh, l); err != nil {
			started <- err
			return
		}
		if err := hide(sh.Hide); err != nil {
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

// openShare opens the share directory into l's reserved slot. In a
// namespace it must be opened after the entries are mounted: a
// descriptor walks the mounts of the namespace it was opened in.
func openShare(sh *Share, l *launch) error {
	if sh == nil {
		return nil
	}
	fd, err := unix.Open(sh.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("share %s: %w", sh.Dir, err)
	}
	l.files[l.share] = os.NewFile(uintptr(fd), sh.Dir)
	return nil
}

// hide covers each directory with an empty read-only tmpfs, so that a
// VMM that may override file permissions finds nothing of a3s-box's
// state by path. QEMU reaches its own files through descriptors opened
// before.
func hide(dirs []string) error {
	for _, d := range dirs {
		if err := unix.Mount("a3s-box-hidden", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0555"); err != nil {
			return fmt.Errorf("hide %s from the VMM: %w", d, err)
		}
	}
	return nil
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
