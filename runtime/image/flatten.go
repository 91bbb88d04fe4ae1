package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTooLarge is a layer set that would write more than the extraction
// limit or the free disk space allows.
var ErrTooLarge = errors.New("image too large to extract")

// Whiteout markers of the OCI image spec (inherited from AUFS).
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// entryCost is what every entry is charged on top of its content, so a
// bomb of empty files is bounded as well as one of large files.
const entryCost = 512

// flattener applies image layers, lowest first, to a tree.
type flattener struct {
	tree
	budget   int64  // bytes the remaining entries may write
	limitMsg string // why the budget is what it is
	asRoot   bool   // device nodes need root
	chown    bool   // give entries the tar's owners (needs root)
	// plain is a tar of files (cp) rather than an image layer: no
	// whiteouts, symbolic links kept as written, and a directory never
	// replaces a non-directory nor the reverse (Docker's cp).
	plain bool
	// skipped hears of the entries a plain tar may not make on the host;
	// dropped holds their names (and kinds), for the hard links to them.
	skipped func(name, kind string)
	dropped map[string]string
	tarName string // the current entry's name in the tar, before any rename
	// layerPaths holds what the current layer wrote: whiteouts apply to
	// lower layers only.
	layerPaths map[string]bool
	dirTimes   map[string]time.Time // applied last: later entries touch them
}

func newFlattener(root string, budget int64, limitMsg string) *flattener {
	return &flattener{
		tree: tree{root: root}, budget: budget, limitMsg: limitMsg,
		asRoot: os.Geteuid() == 0, chown: os.Geteuid() == 0, dirTimes: map[string]time.Time{},
	}
}

// apply extracts one uncompressed layer.
func (f *flattener) apply(ctx context.Context, layer io.Reader) error {
	return f.read(ctx, layer, nil)
}

// read extracts the entries of a tar; rename, when set, first maps each
// entry's name (and hard link target), or skips the entry (errSkip).
func (f *flattener) read(ctx context.Context, r io.Reader, rename func(string) (string, error)) error {
	f.layerPaths = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if f.plain {
				return fmt.Errorf("read archive: %w", err)
			}
			return fmt.Errorf("read layer: %w", err)
		}
		name := hdr.Name
		if rename != nil {
			if hdr.Name, err = rename(name); err == nil && hdr.Typeflag == tar.TypeLink {
				hdr.Linkname, err = rename(hdr.Linkname)
			}
			if errors.Is(err, errSkip) {
				continue
			}
			if err != nil {
				return fmt.Errorf("entry %q: %w", name, err)
			}
		}
		f.tarName = name
		if err := f.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
	}
}

// errSkip is a rename's answer for an entry to leave out.
var errSkip = errors.New("skip entry")

// finish sets directory mtimes, which entries written below them changed.
// A directory a later layer removed, or moved under a symlink, is skipped:
// its path is re-resolved so that no host symlink is ever followed.
func (f *flattener) finish() error {
	for rel, mtime := range f.dirTimes {
		parts := strings.Split(rel, "/")
		if rel == "" {
			parts = nil
		}
		resolved, err := f.resolve(parts, false)
		if err != nil || strings.Join(resolved, "/") != rel {
			continue
		}
		if fi, err := os.Lstat(f.host(resolved)); err != nil || !fi.IsDir() {
			continue
		}
		if err := setTimes(f.host(resolved), mtime); err != nil {
			return err
		}
	}
	return nil
}

func (f *flattener) charge(n int64) error {
	if n < 0 || n > f.budget {
		return fmt.Errorf("%w: %s", ErrTooLarge, f.limitMsg)
	}
	f.budget -= n
	return nil
}

// special are the entries a plain tar (cp out of a box) does not make.
var special = map[byte]string{tar.TypeChar: "character device", tar.TypeBlock: "block device", tar.TypeFifo: "FIFO"}

// drop reports an entry of a plain tar that is not made on the host: a
// special file, or a hard link to one.
func (f *flattener) drop(parts []string, hdr *tar.Header) (kind string, ok bool) {
	if !f.plain {
		return "", false
	}
	if kind, ok = special[hdr.Typeflag]; ok {
		if f.dropped == nil {
			f.dropped = map[string]string{}
		}
		f.dropped[strings.Join(parts, "/")] = kind
		return kind, true
	}
	if hdr.Typeflag == tar.TypeLink {
		if target, err := splitEntryName(hdr.Linkname); err == nil {
			kind, ok = f.dropped[strings.Join(target, "/")]
		}
	}
	return kind, ok
}

func (f *flattener) entry(hdr *tar.Header, body io.Reader) error {
	if err := f.charge(entryCost + int64(len(hdr.Linkname))); err != nil {
		return err
	}
	if f.plain && isSparse(hdr) {
		return errors.New("sparse files are not supported")
	}
	parts, err := splitEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("only a directory may stand for the root")
		}
		return f.setMeta(nil, hdr)
	}
	base := parts[len(parts)-1]
	if !f.plain && strings.HasPrefix(base, whiteoutPrefix) {
		return f.whiteout(parts[:len(parts)-1], base)
	}
	if kind, ok := f.drop(parts, hdr); ok {
		// A box's device nodes and FIFOs stay in the box: on the host a
		// node would open a host device to whoever can reach it.
		if f.skipped != nil {
			f.skipped(f.tarName, kind)
		}
		return nil
	}
	dir, err := f.resolve(parts[:len(parts)-1], true)
	if err != nil {
		return err
	}
	rel := append(dir, base)
	p := f.host(rel)
	f.layerPaths[strings.Join(rel, "/")] = true
	if err := os.MkdirAll(f.host(dir), 0o755); err != nil {
		return err
	}
	// What a lower layer left is replaced, except a directory by a directory.
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() && hdr.Typeflag == tar.TypeDir {
			return f.setMeta(rel, hdr)
		}
		if f.plain && fi.IsDir() {
			return errors.New("cannot overwrite a directory with a non-directory")
		}
		if f.plain && hdr.Typeflag == tar.TypeDir {
			return errors.New("cannot overwrite a non-directory with a directory")
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	case tar.TypeReg:
		return f.writeFile(rel, hdr, body)
	case tar.TypeSymlink:
		if !f.plain {
			if err := checkSymlinkTarget(dir, hdr.Linkname); err != nil {
				return err
			}
		}
		if err := os.Symlink(hdr.Linkname, p); err != nil {
			return err
		}
	case tar.TypeLink:
		return f.hardLink(p, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		if !f.asRoot {
			return nil // only root may create device nodes; the image works without them
		}
		mode := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			mode = unix.S_IFBLK
		}
		if err := unix.Mknod(p, mode|0o600, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
	case tar.TypeFifo:
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return f.setMeta(rel, hdr)
}

// whiteout removes what lower layers put at dir/name, or, for the opaque
// marker, everything lower layers put in dir. dir is resolved inside the
// tree and the removed name is never followed, so a whiteout reached
// through a symlink cannot delete outside the rootfs.
func (f *flattener) whiteout(dirParts []string, base string) error {
	dir, err := f.resolve(dirParts, true)
	if err != nil {
		return err
	}
	if base == whiteoutOpaque {
		return f.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other AUFS metadata (.wh..wh.plnk ...) carries nothing for us
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout of %q %w", name, ErrEscape)
	}
	rel := append(dir, name)
	if f.layerPaths[strings.Join(rel, "/")] {
		return nil
	}
	return os.RemoveAll(f.host(rel))
}

// opaque empties dir of everything lower layers put there.
func (f *flattener) opaque(dir []string) error {
	p := f.host(dir)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("opaque whiteout in %q, which is not a directory", strings.Join(dir, "/"))
	}
	return f.removeLower(dir)
}

func (f *flattener) removeLower(dir []string) error {
	entries, err := os.ReadDir(f.host(dir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		rel := append(append([]string(nil), dir...), e.Name())
		switch {
		case !f.layerPaths[strings.Join(rel, "/")]:
			if err := os.RemoveAll(f.host(rel)); err != nil {
				return err
			}
		case e.IsDir():
			if err := f.removeLower(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *flattener) writeFile(rel []string, hdr *tar.Header, body io.Reader) error {
	if err := f.charge(hdr.Size); err != nil {
		return err
	}
	file, err := os.OpenFile(f.host(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.CopyN(file, body, hdr.Size)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return f.setMeta(rel, hdr)
}

// hardLink links p to the entry target names. The target is resolved
// inside the tree with its last component not followed, as link(2) does.
func (f *flattener) hardLink(p, target string) error {
	parts, err := splitEntryName(target)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if len(parts) == 0 {
		return errors.New("hard link to the root directory")
	}
	rel, err := f.resolve(parts, false)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	fi, err := os.Lstat(f.host(rel))
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", target, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link target %q is a directory", target)
	}
	return os.Link(f.host(rel), p)
}

// setMeta gives an entry its owner, mode, extended attributes and mtime.
// The path is resolved and its last component is what the entry created,
// so nothing here follows a symlink except chmod on non-symlinks.
func (f *flattener) setMeta(rel []string, hdr *tar.Header) error {
	p := f.host(rel)
	if f.chown {
		if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	for k, v := range hdr.PAXRecords {
		if attr, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if f.plain && attr == "security.capability" {
				continue // file capabilities are set-id bits by another name
			}
			if err := f.charge(int64(len(v))); err != nil {
				return err
			}
			// Best effort: the store's file system may not take every
			// namespace (security.selinux ...), and the image runs without.
			_ = unix.Lsetxattr(p, attr, []byte(v), 0)
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		return setTimes(p, hdr.ModTime)
	}
	// After chown, which clears set-id bits. A plain tar comes out of a
	// box: its set-id bits would give the box's programs the host's
	// privileges, so they stay off.
	keep := fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if f.plain {
		keep &^= fs.ModeSetuid | fs.ModeSetgid
	}
	if err := os.Chmod(p, hdr.FileInfo().Mode()&keep); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		f.dirTimes[strings.Join(rel, "/")] = hdr.ModTime
		return nil
	}
	return setTimes(p, hdr.ModTime)
}

func setTimes(p string, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
