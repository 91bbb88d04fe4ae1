// Package tarfs writes file trees as tar streams, the form in which files
// travel between the host and a box (cp, export, commit). Both ends of the
// guest protocol use it, so a tree reads the same whichever way it goes.
//
// Every file is reached from an open directory by one path component,
// never followed when it is a symbolic link, so a tree that changes while
// it is read (a box's processes run on) can swap nothing in that leads
// elsewhere.
package tarfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OCI whiteout markers, written for a layer's deletions.
const (
	WhiteoutPrefix = ".wh."
	WhiteoutOpaque = ".wh..wh..opq"
)

// capabilityXattr is the one extended attribute carried, as Docker does:
// file capabilities are part of what a program needs to run.
const capabilityXattr = "security.capability"

// Archiver writes file trees to a tar stream.
type Archiver struct {
	tw *tar.Writer
	// Descend reports whether to archive the contents of a directory
	// that is another file system than its parent (a mount point, open
	// as fd); nil descends into every one.
	Descend func(fd int) bool
	// Layer writes an overlayfs upper directory as an OCI layer: a
	// whiteout (a 0/0 character device) becomes a .wh. entry and an
	// opaque directory gets a .wh..wh..opq entry.
	Layer bool
	// Skip leaves out the entry archived under name (no trailing slash)
	// and everything below it.
	Skip func(name string) bool
	// Direct reads large files with O_DIRECT, past the page cache: in an
	// emulated guest every copy counts.
	Direct bool

	links map[fileID]string
	buf   []byte
	dbuf  []byte // aligned, for O_DIRECT
}

type fileID struct{ dev, ino uint64 }

// NewArchiver writes to w.
func NewArchiver(w io.Writer) *Archiver {
	return &Archiver{tw: tar.NewWriter(w), links: map[fileID]string{}, buf: make([]byte, 256<<10)}
}

// Close writes the tar's end.
func (a *Archiver) Close() error { return a.tw.Close() }

// Add archives the file name in directory dirfd (not followed when it is
// a symbolic link) and, for a directory, everything below it, under the
// archive name as. name is one path component, or "." for dirfd itself.
func (a *Archiver) Add(dirfd int, name, as string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", as, err)
	}
	return a.add(dirfd, name, as, &st, st.Dev)
}

func (a *Archiver) add(dirfd int, name, as string, st *unix.Stat_t, parentDev uint64) error {
	if a.Skip != nil && a.Skip(strings.TrimSuffix(as, "/")) {
		return nil
	}
	hdr := Header(st, as)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return a.dir(dirfd, name, hdr, st, parentDev)
	case unix.S_IFREG:
		return a.file(dirfd, name, hdr, st)
	case unix.S_IFLNK:
		target, err := readlinkat(dirfd, name)
		if err != nil {
			return fmt.Errorf("read link %s: %w", as, err)
		}
		hdr.Linkname = target
	case unix.S_IFCHR:
		if a.Layer && st.Rdev == 0 {
			return a.whiteout(as)
		}
	case unix.S_IFBLK, unix.S_IFIFO:
	default:
		return nil // sockets have no tar form
	}
	a.link(hdr, st)
	return a.tw.WriteHeader(hdr)
}

// link turns hdr into a hard link to an entry already written for the
// same inode, or remembers hdr's name for the next one.
func (a *Archiver) link(hdr *tar.Header, st *unix.Stat_t) bool {
	if st.Nlink < 2 || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false
	}
	id := fileID{st.Dev, st.Ino}
	if first, ok := a.links[id]; ok {
		hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		return true
	}
	a.links[id] = hdr.Name
	return false
}

func (a *Archiver) whiteout(as string) error {
	dir, base := splitName(as)
	return a.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: dir + WhiteoutPrefix + base, Mode: 0o600,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
	})
}

func (a *Archiver) dir(dirfd int, name string, hdr *tar.Header, st *unix.Stat_t, parentDev uint64) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", hdr.Name, err)
	}
	d := os.NewFile(uintptr(fd), hdr.Name)
	defer d.Close()
	if !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if a.Layer && opaque(fd) {
		if err := a.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: hdr.Name + WhiteoutOpaque, Mode: 0o600,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
		}); err != nil {
			return err
		}
	}
	if st.Dev != parentDev && a.Descend != nil && !a.Descend(fd) {
		return nil
	}
	return a.children(d, hdr.Name, st.Dev)
}

// AddContents archives what directory d holds, each entry under prefix
// followed by its name: the directory itself gets no entry.
func (a *Archiver) AddContents(d *os.File, prefix string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return err
	}
	return a.children(d, prefix, st.Dev)
}

// children archives the entries of directory d, in name order.
func (a *Archiver) children(d *os.File, prefix string, dev uint64) error {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", prefix, err)
	}
	sort.Strings(names)
	fd := int(d.Fd())
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed while we read
			}
			return fmt.Errorf("stat %s%s: %w", prefix, n, err)
		}
		if err := a.add(fd, n, prefix+n, &st, dev); err != nil {
			return err
		}
	}
	return nil
}

func (a *Archiver) file(dirfd int, name string, hdr *tar.Header, st *unix.Stat_t) error {
	if a.link(hdr, st) {
		return a.tw.WriteHeader(hdr)
	}
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY
	direct := a.Direct && hdr.Size >= directMin
	fd, err := unix.Openat(dirfd, name, flags|directFlag(direct), 0)
	if err != nil && direct {
		direct = false // a file system without direct I/O
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", hdr.Name, err)
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if cap := getxattr(fd, capabilityXattr); cap != nil {
		hdr.PAXRecords = map[string]string{"SCHILY.xattr." + capabilityXattr: string(cap)}
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	var n int64
	if direct {
		n, err = a.copyDirect(f, hdr.Size)
	} else {
		n, err = io.CopyBuffer(a.tw, io.LimitReader(f, hdr.Size), a.buf)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", hdr.Name, err)
	}
	// A file that shrank while it was read is padded, so the stream
	// stays whole.
	for n < hdr.Size {
		c := min(int64(len(a.buf)), hdr.Size-n)
		clear(a.buf[:c])
		if _, err := a.tw.Write(a.buf[:c]); err != nil {
			return err
		}
		n += c
	}
	return nil
}

// Header is the tar header for a file with status st, archived as name:
// numeric owners, permission bits, whole-second modification time.
func Header(st *unix.Stat_t, name string) *tar.Header {
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	}
	return hdr
}

// splitName splits an archive name into its directory (with a trailing
// slash, or empty) and its last component.
func splitName(name string) (dir, base string) {
	name = strings.TrimSuffix(name, "/")
	i := strings.LastIndexByte(name, '/')
	return name[:i+1], name[i+1:]
}

func opaque(fd int) bool {
	v := getxattr(fd, "trusted.overlay.opaque")
	return len(v) == 1 && v[0] == 'y'
}

func getxattr(fd int, attr string) []byte {
	buf := make([]byte, 256)
	n, err := unix.Fgetxattr(fd, attr, buf)
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// directMin is the size from which Direct reads a file with O_DIRECT.
const directMin = 1 << 20

func directFlag(on bool) int {
	if on {
		return unix.O_DIRECT
	}
	return 0
}

// DirectChunk is the size of the aligned buffers direct I/O moves file
// data in: under TCG each request costs the guest kernel much (pinning
// its pages, one virtio request), so few large ones beat many small ones
// (4 MiB writes measured about 1.4 times as fast as 1 MiB ones).
const DirectChunk = 4 << 20

// AlignedBuffer is a buffer of n bytes aligned for direct I/O.
func AlignedBuffer(n int) []byte {
	raw := make([]byte, n+4096)
	off := int(uintptr(unsafe.Pointer(&raw[0])) % 4096)
	if off != 0 {
		off = 4096 - off
	}
	return raw[off : off+n]
}

// aligned is the archiver's buffer for direct reads.
func (a *Archiver) aligned() []byte {
	if a.dbuf == nil {
		a.dbuf = AlignedBuffer(DirectChunk)
	}
	return a.dbuf
}

// copyDirect copies up to size bytes of f, opened with O_DIRECT, to the
// archive: whole aligned blocks are read, the file's end reads short.
func (a *Archiver) copyDirect(f *os.File, size int64) (int64, error) {
	buf := a.aligned()
	var n int64
	for n < size {
		m, err := f.Read(buf)
		m = int(min(int64(m), size-n))
		if m > 0 {
			if _, werr := a.tw.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if err == io.EOF || (err == nil && m == 0) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
