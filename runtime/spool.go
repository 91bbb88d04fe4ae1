package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// Bulk tars (cp both ways, export, commit) cross a box's 9p share, not
// its guest stream, when the box's VM has the share's spool directory:
// under TCG the virtio-serial stream moves data a page at a time through
// emulated guest code, while 9p hands large reads and writes between the
// host's file and the guest's buffers directly. A spool file is made by
// the host, named in the request, and removed when the request is done;
// the host keeps its own descriptor, so whatever the guest does to the
// name, the host reads only the file it made. The stream stays for boxes
// booted without a spool (and for diff, whose answer is small).

// spoolDir is box id's spool directory on the host.
func (r *Runtime) spoolDir(id string) string { return filepath.Join(r.shareDir(id), proto.SpoolDir) }

// makeSpool makes a share directory with an empty spool directory.
func makeSpool(shareDir string) error {
	if err := os.MkdirAll(shareDir, 0o700); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	if err := os.Mkdir(filepath.Join(shareDir, proto.SpoolDir), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("share: %w", err)
	}
	return nil
}

// spoolFile is one tar crossing the share.
type spoolFile struct {
	f    *os.File
	name string
}

// newSpoolFile makes an empty spool file in dir; it is nil when dir is ""
// (the box has no spool).
func newSpoolFile(dir string) (*spoolFile, error) {
	if dir == "" {
		return nil, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := "tar-" + hex.EncodeToString(b[:])
	path := filepath.Join(dir, name)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool file: %w", err)
	}
	if err := giveToDir(fd, dir); err != nil {
		unix.Close(fd)
		_ = os.Remove(path)
		return nil, fmt.Errorf("spool file: %w", err)
	}
	return &spoolFile{f: os.NewFile(uintptr(fd), path), name: name}, nil
}

// remove closes and removes the spool file; nil does nothing.
func (s *spoolFile) remove() {
	if s == nil {
		return
	}
	path := s.f.Name()
	s.f.Close()
	_ = os.Remove(path)
}

// giveToDir makes the file fd the owner of dir's: the spool directory
// belongs to the box's VMM user, which must read and write the file.
func giveToDir(fd int, dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Uid == uint32(os.Geteuid()) && st.Gid == uint32(os.Getegid()) {
		return nil
	}
	return unix.Fchown(fd, int(st.Uid), int(st.Gid))
}
