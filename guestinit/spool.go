package main

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// Bulk tars (cp, export, commit) can cross the box's 9p share instead of
// the guest stream: a file in the share's spool directory, named by the
// request. The share reaches guestinit through a directory descriptor
// only, never a path the box's processes could see: the one kept from
// the boot's share mount when the box has bind mounts (a 9p device takes
// one mount at a time), otherwise a detached mount made on first use.

var spool struct {
	sync.Mutex
	root int // the share's root directory, or -1 before it is reached
}

func init() { spool.root = -1 }

// keepShare keeps a descriptor of the share mounted at dir, so spooled
// tars reach it after the mount itself is gone.
func keepShare(dir string) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		logf("keep share: %v", err)
		return
	}
	spool.Lock()
	defer spool.Unlock()
	if spool.root >= 0 {
		unix.Close(spool.root)
	}
	spool.root = fd
}

// shareRoot is a descriptor of the share's root, mounting it detached
// (fsopen/fsmount: attached to no path) when no mount was kept.
func shareRoot() (int, error) {
	spool.Lock()
	defer spool.Unlock()
	if spool.root >= 0 {
		return spool.root, nil
	}
	fsfd, err := unix.Fsopen("9p", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("mount share: %w", err)
	}
	defer unix.Close(fsfd)
	err = unix.FsconfigSetString(fsfd, "source", proto.ShareTag)
	for _, opt := range strings.Split(shareOptions, ",") {
		if err != nil {
			break
		}
		if k, v, ok := strings.Cut(opt, "="); ok {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
	}
	if err == nil {
		err = unix.FsconfigCreate(fsfd)
	}
	if err != nil {
		return -1, fmt.Errorf("mount share %s: %w", proto.ShareTag, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("mount share %s: %w", proto.ShareTag, err)
	}
	spool.root = mfd
	return mfd, nil
}

// openSpool opens spool file name, which the host made, for a tar.
func openSpool(name string, flags int) (*os.File, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("spool file %q is not a plain name", name)
	}
	root, err := shareRoot()
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(root, proto.SpoolDir+"/"+name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open spool file: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}
