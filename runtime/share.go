package runtime

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A box's share (vmm.Share) is made by prepareShare (mounts.go) and
// mounted in the VMM's own mount namespace by the driver; what the host
// keeps of it between boots is a directory of empty entries, and what
// the guest left in it.

// clearShare empties a box's share directory in the host's namespace.
// Whatever a guest left there (directories, links, device nodes, a
// spool file still growing) goes, removed through the held descriptor
// without following a link; a mount in the way (none is ever in the
// host's namespace) makes it fail rather than delete through it.
func clearShare(dir string) error {
	fd, err := openShareDir(dir)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clear share: %w", err)
	}
	defer unix.Close(fd)
	if err := removeAll(fd); err != nil {
		return fmt.Errorf("clear share %s: %w", dir, err)
	}
	return nil
}

// makeShareEntry makes entry, an empty directory or file a mount is
// bound on, in share directory dir through a descriptor of it.
func makeShareEntry(dir, entry string, isDir bool) error {
	fd, err := openShareDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if isDir {
		if err := unix.Mkdirat(fd, entry, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", entry, err)
		}
		return nil
	}
	f, err := unix.Openat(fd, entry, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("make %s: %w", entry, err)
	}
	return unix.Close(f)
}
