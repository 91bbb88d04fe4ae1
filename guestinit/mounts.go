package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

func (m mount) do() error {
	if err := os.MkdirAll(m.target, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", m.target, err)
	}
	if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
	}
	return nil
}

func mountAll(ms []mount) error {
	for _, m := range ms {
		if err := m.do(); err != nil {
			return err
		}
	}
	return nil
}

const nodev = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// mountEarly mounts what guestinit itself needs while it still runs from
// the initramfs.
func mountEarly() error {
	return mountAll([]mount{
		{"proc", "/proc", "proc", nodev, ""},
		{"sysfs", "/sys", "sysfs", nodev, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	})
}

// Disk serial numbers set by the host; they name the disks whatever order
// the virtio-mmio bus probes them in.
const (
	serialImage    = "a3s-image"
	serialWritable = "a3s-rw"
)

const (
	imageDir = "/mnt/image"
	rwDir    = "/mnt/rw"
	rootDir  = "/mnt/root"
)

// assembleRoot joins the read-only image disk and the box's writable disk
// with overlayfs and makes the result the root of the guest.
func assembleRoot() error {
	image, err := diskBySerial(serialImage)
	if err != nil {
		return err
	}
	rw, err := diskBySerial(serialWritable)
	if err != nil {
		return err
	}
	// noinit_itable: the writable disk is a sparse file on the host; lazy
	// inode-table zeroing would fill it for nothing.
	if err := mountAll([]mount{
		{image, imageDir, "ext4", unix.MS_RDONLY, "noload"},
		{rw, rwDir, "ext4", unix.MS_NOATIME, "noinit_itable"},
	}); err != nil {
		return err
	}
	upper, work := rwDir+"/upper", rwDir+"/work"
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	// No redirects or metadata-only copy-ups: the upper directory then
	// says everything about the box's changes on its own (diff, commit).
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off", imageDir, upper, work)
	if err := (mount{"overlay", rootDir, "overlay", 0, opts}).do(); err != nil {
		return err
	}
	if err := openLayers(upper, imageDir); err != nil {
		return err
	}
	return switchRoot(rootDir)
}

// switchRoot makes dir the root, as switch_root does: pivot_root cannot
// leave an initramfs, so the new root is moved over / and chrooted into.
func switchRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// mountBox gives the box's root the pseudo filesystems a container sees.
func mountBox() error {
	return mountAll([]mount{
		{"proc", "/proc", "proc", nodev, ""},
		{"sysfs", "/sys", "sysfs", nodev | unix.MS_RDONLY, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"shm", "/dev/shm", "tmpfs", nodev, "mode=1777,size=65536k"},
	})
}

// diskBySerial finds the block device whose virtio serial is serial,
// waiting briefly because virtio_blk probes asynchronously.
func diskBySerial(serial string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := filepath.Glob("/sys/block/vd*/serial")
		for _, e := range entries {
			b, err := os.ReadFile(e)
			if err == nil && strings.TrimSpace(string(b)) == serial {
				return "/dev/" + filepath.Base(filepath.Dir(e)), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("disk %q: %w", serial, errors.New("not found after 10s"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
