package main

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// applyKernelSettings applies what docker run asks of the kernel a
// container shares and a box has to itself: sysctls, the size of
// /dev/shm, a bound on the box's processes and a read-only root. The
// root goes read-only last, once everything else of Setup is written.
func applyKernelSettings(s *proto.Setup) error {
	for k, v := range s.Sysctls {
		if err := writeSysctl(k, v); err != nil {
			return err
		}
	}
	if s.ShmSize > 0 {
		opts := fmt.Sprintf("mode=1777,size=%d", s.ShmSize)
		if err := unix.Mount("shm", "/dev/shm", "tmpfs", unix.MS_REMOUNT|nodev, opts); err != nil {
			return fmt.Errorf("size /dev/shm: %w", err)
		}
	}
	if s.PidsLimit > 0 {
		if err := setPidsLimit(s.PidsLimit); err != nil {
			return err
		}
	}
	if s.ReadOnly {
		// A bind remount changes the root mount's own flag: the mounts
		// below it (tmpfs, volumes, /proc, /dev) stay writable.
		if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make the root read-only: %w", err)
		}
	}
	return nil
}

// writeSysctl writes one sysctl, its dotted name a path under /proc/sys.
func writeSysctl(key, value string) error {
	rel := strings.ReplaceAll(key, ".", "/")
	if rel != path.Clean(rel) || strings.HasPrefix(rel, "/") || strings.Contains(rel, "..") {
		return fmt.Errorf("sysctl %s: not a sysctl name", key)
	}
	if err := os.WriteFile("/proc/sys/"+rel, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// setPidsLimit bounds the box's cgroup's processes (pids.max).
func setPidsLimit(n int64) error {
	if boxCgroup < 0 {
		return fmt.Errorf("--pids-limit: the guest has no box cgroup")
	}
	fd, err := unix.Openat(boxCgroup, "pids.max", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("--pids-limit: the guest kernel's pids controller: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(strconv.FormatInt(n, 10))); err != nil {
		return fmt.Errorf("--pids-limit %d: %w", n, err)
	}
	return nil
}
