package main

import (
	"archive/tar"
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/guestinit/proto/tarfs"
	"golang.org/x/sys/unix"
)

// stagingPrefix names the directory a put extracts into before anything
// is moved into place.
const stagingPrefix = ".a3s-box-cp-"

// fsPut receives a tar and places it at req.Path by Docker's cp rules.
// The tar is first extracted into a fresh staging directory beside the
// destination, where every entry is checked (no absolute names, no "..",
// nothing through a symbolic link, hard links only to what the tar
// itself holds); only a tar that extracted whole is then moved into
// place, by renames, so a refused tar changes nothing in the box.
func fsPut(st net.Conn, req *proto.FSRequest) error {
	loc, err := resolveInBox(req.Path, true)
	if err != nil {
		return err
	}
	ready := func(final string) error {
		return proto.WriteMessage(st, &proto.FSInfo{Name: final, Dir: req.Dir})
	}
	var data io.Reader = proto.NewDataReader(st)
	if req.Spool != "" {
		f, err := openSpool(req.Spool, unix.O_RDONLY)
		if err != nil {
			loc.dir.Close()
			return err
		}
		defer f.Close()
		// Tar headers come in 512-byte blocks: read them in bulk; large
		// reads of file data bypass the buffer.
		data = bufio.NewReaderSize(f, 64<<10)
	}
	if err := putAt(loc, req, data, ready); err != nil {
		return err
	}
	return proto.WriteMessage(st, &proto.Ack{})
}

// putAt places the tar r at loc (which it closes) as req says; ready is
// told where the item goes before r is read.
func putAt(loc *location, req *proto.FSRequest, r io.Reader, ready func(final string) error) error {
	defer loc.dir.Close()
	target, final, err := putTarget(loc, req)
	if err != nil {
		return err
	}
	defer target.Close()
	stage, stageName, err := makeStaging(target)
	if err != nil {
		return fmt.Errorf("%s: %w", req.Path, err)
	}
	defer func() {
		stage.Close()
		_ = removeAllAt(int(target.Fd()), stageName)
	}()
	if err := ready(final); err != nil {
		return err
	}
	x := &extractor{root: int(stage.Fd()), owners: req.Owners, single: !req.Content}
	if err := x.extract(r); err != nil {
		return err
	}
	switch {
	case req.Content && final != "":
		// A directory's contents for a directory that is not there yet:
		// the staging directory becomes it.
		if err = unix.Renameat(int(target.Fd()), stageName, int(target.Fd()), final); err == nil {
			err = unix.Fchmod(int(stage.Fd()), 0o755)
		}
	case req.Content:
		err = placeContents(stage, target)
	default:
		if x.top == "" {
			return errors.New("the archive is empty")
		}
		err = place(int(stage.Fd()), x.top, int(target.Fd()), final)
	}
	if err != nil {
		return err
	}
	// A copy that was acknowledged survives its VM dying next (a killed
	// QEMU is a power cut to the guest), as a copy into a container
	// survives the container.
	fd, err := unix.Openat(int(target.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Syncfs(fd)
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("%s: sync: %w", req.Path, err)
	}
	return nil
}

// putTarget applies Docker's cp rules to a put's destination: the
// directory the item goes into and its name there ("" to merge a
// directory's contents into the directory itself).
func putTarget(loc *location, req *proto.FSRequest) (*os.File, string, error) {
	switch {
	case req.Content && loc.isDir():
		d, err := loc.open()
		return d, "", err
	case req.Content && !req.Dir:
		return nil, "", fmt.Errorf("destination %s must be a directory", req.Path)
	case loc.isDir():
		d, err := loc.open()
		if err != nil {
			return nil, "", err
		}
		if err := checkReplace(int(d.Fd()), req.Name, req.Dir, req.Path+"/"+req.Name); err != nil {
			d.Close()
			return nil, "", err
		}
		return d, req.Name, nil
	case loc.exists:
		if req.Dir {
			return nil, "", fmt.Errorf("cannot copy a directory to %s, which is a file", req.Path)
		}
	case loc.slash && !req.Dir:
		return nil, "", fmt.Errorf("destination directory %s does not exist", req.Path)
	}
	d, err := dupFile(loc.dir)
	return d, loc.name, err
}

// checkReplace refuses to put a directory over a non-directory or the
// reverse, as Docker's cp does.
func checkReplace(dirfd int, name string, dir bool, shown string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case isDir && !dir:
		return fmt.Errorf("cannot overwrite directory %s with non-directory", shown)
	case !isDir && dir:
		return fmt.Errorf("cannot overwrite non-directory %s with directory", shown)
	}
	return nil
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func makeStaging(dir *os.File) (*os.File, string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := stagingPrefix + hex.EncodeToString(b)
	if err := unix.Mkdirat(int(dir.Fd()), name, 0o700); err != nil {
		return nil, "", err
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), name, unix.AT_REMOVEDIR)
		return nil, "", err
	}
	return os.NewFile(uintptr(fd), name), name, nil
}

// extractor extracts a tar into a staging directory it alone writes.
type extractor struct {
	root   int
	owners bool // the tar's owners; otherwise root's
	single bool // the tar holds one item: every entry below one top name
	top    string
	// dirTimes are set last: entries written below a directory change it.
	dirTimes []dirTime
	// parent caches the directory of the last entry.
	parentPath string
	parentFd   int
	buf        []byte
	dbuf       []byte // aligned, for O_DIRECT
	// free is the space the box had; budget what is left of it.
	free, budget int64
}

type dirTime struct {
	dir  string
	name string
	ts   []unix.Timespec
}

func (x *extractor) extract(r io.Reader) error {
	x.parentFd = -1
	var fs unix.Statfs_t
	if err := unix.Fstatfs(x.root, &fs); err != nil {
		return err
	}
	x.free = int64(fs.Bavail) * fs.Bsize
	x.budget = x.free
	defer func() {
		if x.parentFd >= 0 {
			unix.Close(x.parentFd)
		}
	}()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
	}
	// The rest of the stream (tar padding) up to the host's end.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	for _, d := range x.dirTimes {
		fd, err := x.openDir(d.dir, false)
		if err != nil {
			return err
		}
		err = unix.UtimesNanoAt(fd, d.name, d.ts, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return err
		}
	}
	return nil
}

// errEntryEscape is an entry whose name would leave the destination.
var errEntryEscape = errors.New("escapes the destination")

// splitEntry checks an entry name: relative, without "..".
func splitEntry(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("absolute name %w", errEntryEscape)
	}
	var parts []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, fmt.Errorf(`".." in its name %w`, errEntryEscape)
		default:
			parts = append(parts, c)
		}
	}
	return parts, nil
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			// A few bytes could declare terabytes.
			return errors.New("sparse files are not supported")
		}
	}
	// What an entry costs beyond its bytes bounds a bomb of empty files.
	if need := 512 + max(hdr.Size, 0); need > x.budget {
		return fmt.Errorf("the archive needs more than the %d MiB free in the box", x.free>>20)
	} else {
		x.budget -= need
	}
	parts, err := splitEntry(hdr.Name)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return nil // "./": the destination itself, left as it is (Docker)
	}
	if x.single {
		if x.top == "" {
			x.top = parts[0]
		} else if parts[0] != x.top {
			return fmt.Errorf("a second item beside %q: the archive must hold one", x.top)
		}
	}
	dir := strings.Join(parts[:len(parts)-1], "/")
	name := parts[len(parts)-1]
	pfd, err := x.openDir(dir, true)
	if err != nil {
		return err
	}
	var old unix.Stat_t
	if unix.Fstatat(pfd, name, &old, unix.AT_SYMLINK_NOFOLLOW) == nil {
		oldDir := old.Mode&unix.S_IFMT == unix.S_IFDIR
		switch {
		case oldDir && hdr.Typeflag == tar.TypeDir:
			return x.meta(pfd, dir, name, hdr, -1)
		case oldDir:
			return fmt.Errorf("cannot overwrite directory %q with non-directory", hdr.Name)
		case hdr.Typeflag == tar.TypeDir:
			return fmt.Errorf("cannot overwrite non-directory %q with directory", hdr.Name)
		}
		if err := unix.Unlinkat(pfd, name, 0); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, name, 0o700); err != nil {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		return x.file(pfd, dir, name, hdr, body)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, name); err != nil {
			return err
		}
	case tar.TypeLink:
		return x.hardLink(pfd, name, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode = unix.S_IFCHR
		case tar.TypeBlock:
			mode = unix.S_IFBLK
		}
		dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		if err := unix.Mknodat(pfd, name, mode|0o600, dev); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	return x.meta(pfd, dir, name, hdr, -1)
}

// openDir opens a directory of the staging tree, creating what is missing
// when create is set. The kernel resolves it beneath the staging
// directory without following any symbolic link, so an entry cannot reach
// through a link the tar planted (or anything else) out of it.
func (x *extractor) openDir(dir string, create bool) (int, error) {
	if x.parentFd >= 0 && dir == x.parentPath {
		return x.parentFd, nil
	}
	fd, err := x.walk(dir, create)
	if err != nil {
		return -1, err
	}
	if x.parentFd >= 0 {
		unix.Close(x.parentFd)
	}
	x.parentPath, x.parentFd = dir, fd
	return fd, nil
}

func (x *extractor) walk(dir string, create bool) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	p := dir
	if p == "" {
		p = "."
	}
	fd, err := unix.Openat2(x.root, p, how)
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ELOOP):
		return -1, fmt.Errorf("its directory %s is a symbolic link", dir)
	case errors.Is(err, unix.EXDEV):
		return -1, errEntryEscape
	case errors.Is(err, unix.ENOENT) && create:
	default:
		return -1, err
	}
	// Create the missing directories one at a time, as Docker does for a
	// tar that names a file before (or without) its directory.
	fd, err = unix.Openat2(x.root, ".", how)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(dir, "/") {
		if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return -1, err
		}
		next, err := unix.Openat2(fd, c, how)
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return -1, fmt.Errorf("%s in its directory is not a directory", c)
			}
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// directMin is the size from which a file is written with O_DIRECT: the
// emulated guest copies slowly, and direct I/O skips its page cache.
const directMin = 1 << 20

func (x *extractor) file(pfd int, dir, name string, hdr *tar.Header, body io.Reader) error {
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	direct := hdr.Size >= directMin
	fd, err := unix.Openat(pfd, name, flags|directFlag(direct), 0o600)
	if err != nil && direct && errors.Is(err, unix.EINVAL) {
		direct = false // a file system without direct I/O
		fd, err = unix.Openat(pfd, name, flags, 0o600)
	}
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if direct {
		// One allocation of the whole file, rather than one per direct
		// write; a file system without fallocate allocates as it goes.
		_ = unix.Fallocate(fd, 0, 0, hdr.Size)
		err = x.writeDirect(fd, body)
	} else {
		if x.buf == nil {
			x.buf = make([]byte, 256<<10)
		}
		_, err = io.CopyBuffer(f, body, x.buf)
	}
	if err != nil {
		return err
	}
	return x.meta(pfd, dir, name, hdr, fd)
}

func directFlag(on bool) int {
	if on {
		return unix.O_DIRECT
	}
	return 0
}

// writeDirect copies body to fd, opened with O_DIRECT, in aligned blocks;
// the unaligned tail goes through the page cache.
func (x *extractor) writeDirect(fd int, body io.Reader) error {
	if x.dbuf == nil {
		x.dbuf = tarfs.AlignedBuffer(tarfs.DirectChunk)
	}
	for {
		n, err := io.ReadFull(body, x.dbuf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		aligned := n &^ 4095
		if err := writeAll(fd, x.dbuf[:aligned]); err != nil {
			return err
		}
		if n < len(x.dbuf) {
			if n > aligned {
				fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
				if err == nil {
					_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_DIRECT)
				}
				if err == nil {
					err = writeAll(fd, x.dbuf[aligned:n])
				}
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return err
		}
		b = b[n:]
	}
	return nil
}

// hardLink links name to an entry the tar already holds: the target is
// resolved beneath the staging directory, and link(2) does not follow a
// symbolic link, so nothing outside the tar can be linked in.
func (x *extractor) hardLink(pfd int, name, target string) error {
	parts, err := splitEntry(target)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if len(parts) == 0 {
		return errors.New("hard link to the destination itself")
	}
	notHeld := fmt.Errorf("hard link to %q, which the archive does not hold", target)
	tfd, err := x.walk(strings.Join(parts[:len(parts)-1], "/"), false)
	if errors.Is(err, unix.ENOENT) {
		return notHeld
	}
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", target, err)
	}
	defer unix.Close(tfd)
	err = unix.Linkat(tfd, parts[len(parts)-1], pfd, name, 0)
	if errors.Is(err, unix.ENOENT) {
		return notHeld
	}
	return err
}

// meta gives an entry its owner, mode, capabilities and times. fd is the
// entry's open file when there is one.
func (x *extractor) meta(pfd int, dir, name string, hdr *tar.Header, fd int) error {
	uid, gid := 0, 0
	if x.owners {
		uid, gid = hdr.Uid, hdr.Gid
	}
	if err := unix.Fchownat(pfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeSymlink {
		ts := times(hdr)
		return unix.UtimesNanoAt(pfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	// After chown, which clears set-id bits and capabilities.
	if fd >= 0 {
		if c, ok := hdr.PAXRecords["SCHILY.xattr.security.capability"]; ok {
			_ = unix.Fsetxattr(fd, "security.capability", []byte(c), 0)
		}
	}
	if err := unix.Fchmodat(pfd, name, uint32(hdr.Mode)&0o7777, 0); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirTimes = append(x.dirTimes, dirTime{dir: dir, name: name, ts: times(hdr)})
		return nil
	}
	return unix.UtimesNanoAt(pfd, name, times(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

func times(hdr *tar.Header) []unix.Timespec {
	m := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	a := m
	if !hdr.AccessTime.IsZero() {
		a = unix.NsecToTimespec(hdr.AccessTime.UnixNano())
	}
	return []unix.Timespec{a, m}
}

// place moves src/name to dst/final: renamed in when dst has no such
// name, merged when both are directories, replacing a non-directory
// otherwise. The whole move is checked before anything moves.
func place(src int, name string, dst int, final string) error {
	if err := merge(src, name, dst, final, false); err != nil {
		return err
	}
	return merge(src, name, dst, final, true)
}

// placeContents places every entry of the staging directory in dir.
func placeContents(stage, dir *os.File) error {
	names, err := stage.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, apply := range []bool{false, true} {
		for _, n := range names {
			if err := merge(int(stage.Fd()), n, int(dir.Fd()), n, apply); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge checks (apply false) or makes (apply true) one move of place.
func merge(src int, name string, dst int, final string, apply bool) error {
	var s, d unix.Stat_t
	if err := unix.Fstatat(src, name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := unix.Fstatat(dst, final, &d, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			return err
		}
		if !apply {
			return nil
		}
		return unix.Renameat(src, name, dst, final)
	}
	sDir, dDir := s.Mode&unix.S_IFMT == unix.S_IFDIR, d.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case sDir && !dDir:
		return fmt.Errorf("cannot overwrite non-directory %q with directory", final)
	case !sDir && dDir:
		return fmt.Errorf("cannot overwrite directory %q with non-directory", final)
	case !sDir:
		if !apply {
			return nil
		}
		return unix.Renameat(src, name, dst, final)
	}
	sfd, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sd := os.NewFile(uintptr(sfd), name)
	defer sd.Close()
	dfd, err := unix.Openat(dst, final, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	names, err := sd.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := merge(sfd, n, dfd, n, apply); err != nil {
			return err
		}
	}
	if !apply {
		return nil
	}
	// The directory's own metadata comes with it, as Docker's cp applies
	// a directory entry's header to a directory that exists.
	if err := unix.Fchown(dfd, int(s.Uid), int(s.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(dfd, s.Mode&0o7777); err != nil {
		return err
	}
	return unix.UtimesNanoAt(dst, final, []unix.Timespec{s.Atim, s.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

// removeAllAt removes dir/name and everything below it without following
// a symbolic link.
func removeAllAt(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}
