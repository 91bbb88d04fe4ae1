package runtime

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The share directory is written by the box's guest (through its VMM),
// so the host treats whatever is in it as hostile: a guest may replace
// any entry with a symbolic link to a host directory, a device node, or
// a mount point. The host therefore never names a path inside the share:
// it holds a descriptor of the share directory and reaches its entries
// with openat2 resolving beneath it, through no link and onto no other
// file system, and removes them with unlinkat on the held descriptor.

// shareResolve is how every name inside the share is resolved.
const shareResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV

// openShareDir opens the share directory dir itself, which the host
// made (the guest cannot replace it: it is the VMM's view's root).
func openShareDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// openBeneath opens name under directory dirfd, refusing any link, any
// step out of dirfd and any other file system on the way.
func openBeneath(dirfd int, name string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Mode: uint64(mode), Resolve: shareResolve}
	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue // openat2 asks again when a rename raced it
		}
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTDIR) && flags&unix.O_DIRECTORY != 0 {
				return -1, fmt.Errorf("%s in the box's share is not what the host made (the guest replaced it, with a link or a mount): %w", name, err)
			}
			return -1, fmt.Errorf("%s in the box's share: %w", name, err)
		}
		return fd, nil
	}
}

// openSubdir opens directory name under dirfd, as openBeneath.
func openSubdir(dirfd int, name string) (int, error) {
	return openBeneath(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// removeBeneath removes entry name of directory dirfd and, when it is a
// directory, everything under it, following no link and crossing into
// no other file system (a mount is left, and the removal fails).
func removeBeneath(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	sub, err := openSubdir(dirfd, name)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	// A guest may leave a directory it made unreadable or unwritable;
	// the host, its owner or root, opens it again.
	_ = unix.Fchmod(sub, 0o700)
	err = removeAll(sub)
	unix.Close(sub)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// removeAll removes every entry of directory dirfd.
func removeAll(dirfd int) error {
	names, err := dirNames(dirfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeBeneath(dirfd, n); err != nil {
			return err
		}
	}
	return nil
}

// dirNames lists directory dirfd without moving dirfd's own offset.
func dirNames(dirfd int) ([]string, error) {
	fd, err := openSubdir(dirfd, ".")
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list share: %w", err)
	}
	return names, nil
}
