package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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

// makeSpool makes a share directory with an empty spool directory.
func makeSpool(shareDir string) error {
	if err := os.MkdirAll(shareDir, 0o700); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	fd, err := openShareDir(shareDir)
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Mkdirat(fd, proto.SpoolDir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("share: make %s: %w", proto.SpoolDir, err)
	}
	return nil
}

// openSpoolDir opens the spool directory of share directory shareDir
// through a descriptor of the share, so that a link or mount a guest put
// in its place is refused; fs.ErrNotExist when the VM has no spool.
func openSpoolDir(shareDir string) (int, error) {
	share, err := openShareDir(shareDir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(share)
	fd, err := openSubdir(share, proto.SpoolDir)
	if errors.Is(err, unix.ENOENT) {
		return -1, fs.ErrNotExist
	}
	return fd, err
}

// hasSpool reports whether share directory shareDir has a spool; a
// spool directory the guest replaced is an error, not a missing spool.
func hasSpool(shareDir string) (bool, error) {
	fd, err := openSpoolDir(shareDir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("spool: %w", err)
	}
	unix.Close(fd)
	return true, nil
}

// spoolFile is one tar crossing the share. dir is the host's descriptor
// of the spool directory, by which the file is made and removed.
type spoolFile struct {
	f    *os.File
	dir  int
	name string
}

// newSpoolFile makes an empty spool file in the spool of share directory
// shareDir; it is nil when shareDir is "" (the box has no spool).
func newSpoolFile(shareDir string) (*spoolFile, error) {
	if shareDir == "" {
		return nil, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := "tar-" + hex.EncodeToString(b[:])
	dir, err := openSpoolDir(shareDir)
	if err != nil {
		return nil, fmt.Errorf("spool file: %w", err)
	}
	fd, err := unix.Openat(dir, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		unix.Close(dir)
		return nil, fmt.Errorf("spool file: %w", err)
	}
	// Held for the request's life: the share guard removes what no host
	// process holds.
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		unix.Close(fd)
		_ = unix.Unlinkat(dir, name, 0)
		unix.Close(dir)
		return nil, fmt.Errorf("spool file: %w", err)
	}
	if err := giveToDir(fd, dir); err != nil {
		unix.Close(fd)
		_ = unix.Unlinkat(dir, name, 0)
		unix.Close(dir)
		return nil, fmt.Errorf("spool file: %w", err)
	}
	return &spoolFile{f: os.NewFile(uintptr(fd), name), dir: dir, name: name}, nil
}

// remove closes and removes the spool file; nil does nothing. Whatever
// the guest made of the name (a directory, say) goes as well.
func (s *spoolFile) remove() {
	if s == nil {
		return
	}
	s.f.Close()
	_ = removeBeneath(s.dir, s.name)
	unix.Close(s.dir)
}

// written is a reader of what the guest wrote in the spool file up to
// now, when it says the file is whole: a guest that goes on writing
// after that cannot make the host read without end.
func (s *spoolFile) written() (io.Reader, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("spool file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("spool file %s is not a regular file", s.name)
	}
	return io.NewSectionReader(s.f, 0, fi.Size()), nil
}

// giveToDir makes the file fd the owner of spool directory dir's: it
// belongs to the box's VMM user, which must read and write the file.
func giveToDir(fd, dir int) error {
	var st unix.Stat_t
	if err := unix.Fstat(dir, &st); err != nil {
		return err
	}
	if st.Uid == uint32(os.Geteuid()) && st.Gid == uint32(os.Getegid()) {
		return nil
	}
	return unix.Fchown(fd, int(st.Uid), int(st.Gid))
}
