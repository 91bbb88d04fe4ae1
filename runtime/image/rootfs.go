package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"golang.org/x/sys/unix"
)

// Rootfs returns the path of img's read-only ext4 root filesystem. The
// first call for a manifest digest flattens the layers and builds the
// file; later calls, from any process, reuse it. Builders of the same
// digest serialise on a lock, and the file appears by rename once
// complete, so readers never see a partial image.
func (s *Store) Rootfs(ctx context.Context, img *Image) (string, error) {
	h, err := validHash(img.Digest)
	if err != nil {
		return "", fmt.Errorf("rootfs for %s: %w", img.Ref, err)
	}
	key := h.Algorithm + "-" + h.Hex
	final := s.path(rootfsDir, key+".ext4")
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	lock, err := statefile.Acquire(ctx, s.path(rootfsDir, "."+key+".lock"))
	if err != nil {
		return "", fmt.Errorf("rootfs for %s: %w", img.Ref, err)
	}
	defer lock.Release()
	if _, err := os.Stat(final); err == nil {
		return final, nil // another process built it while we waited
	}
	if err := s.buildRootfs(ctx, img, key, final); err != nil {
		return "", fmt.Errorf("build rootfs for %s: %w", img.Ref, err)
	}
	return final, nil
}

// buildRootfs flattens img's layers into a work directory inside the
// store and makes final from it. The work directory is removed whatever
// happens, so a failed build leaves nothing behind.
func (s *Store) buildRootfs(ctx context.Context, img *Image, key, final string) error {
	work := s.path(tmpDir, "rootfs-"+key)
	// Left by a build that crashed: we hold the digest's lock, so no live
	// process is using it.
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := s.flatten(ctx, img, dir); err != nil {
		return err
	}
	fp, err := measure(dir)
	if err != nil {
		return err
	}
	out := filepath.Join(work, "rootfs.ext4")
	if err := mkfs(ctx, dir, out, fp); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := syncFile(out); err != nil {
		return err
	}
	// Private like every state file: VMMs are handed descriptors, and
	// an image's files may hold what only its owner should read.
	if err := os.Chmod(out, 0o600); err != nil {
		return err
	}
	if err := os.Rename(out, final); err != nil {
		return err
	}
	s.builds.Add(1)
	return statefile.SyncDir(filepath.Dir(final))
}

// flatten extracts img's layers, lowest first, into dir.
func (s *Store) flatten(ctx context.Context, img *Image, dir string) error {
	v1img, err := s.layout.Image(img.Digest)
	if err != nil {
		return err
	}
	layers, err := v1img.Layers()
	if err != nil {
		return err
	}
	budget, why, err := s.extractBudget()
	if err != nil {
		return err
	}
	f := newFlattener(dir, budget, why)
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, ShortID(d), err)
		}
		err = f.apply(ctx, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, ShortID(d), err)
		}
	}
	return f.finish()
}

// extractBudget is how much flattening, a pull, a load or an import may
// write: the store's limit, or the free space where the store is less
// MinFreeBytes when that is less. The bound is always below all free
// disk, so an image never takes the space the boxes' disks, logs and
// state files grow into.
func (s *Store) extractBudget() (int64, string, error) {
	limit := s.extractLimit()
	var st unix.Statfs_t
	if err := unix.Statfs(s.path(tmpDir), &st); err != nil {
		return 0, "", fmt.Errorf("free space in %s: %w", s.path(tmpDir), err)
	}
	if free := int64(st.Bavail)*st.Bsize - MinFreeBytes; free < limit {
		return max(free, 0), fmt.Sprintf("it would leave less than %s of disk free in %s (%s free)",
			sizeString(MinFreeBytes), s.dir, sizeString(int64(st.Bavail)*st.Bsize)), nil
	}
	return limit, fmt.Sprintf("its layers expand to more than the extraction limit of %s", sizeString(limit)), nil
}

// extractLimit is the store's bound on what one image expands to.
func (s *Store) extractLimit() int64 {
	if s.MaxExtractBytes <= 0 {
		return DefaultMaxExtractBytes
	}
	return s.MaxExtractBytes
}

// boundReader fails once more than n bytes have passed through it: a
// decompression bomb in a load or import archive stops at the bound.
type boundReader struct {
	r   io.Reader
	n   int64
	why string
}

func (b *boundReader) Read(p []byte) (int, error) {
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1]
	}
	k, err := b.r.Read(p)
	if b.n -= int64(k); b.n < 0 {
		return 0, fmt.Errorf("%w: %s", ErrTooLarge, b.why)
	}
	return k, err
}

func sizeString(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}

// ext4 geometry used for sizing.
const (
	blockSize = 4096
	inodeSize = 256
	// fastSymlinkMax is the longest symlink target kept inside the inode.
	fastSymlinkMax = 59
)

// footprint is what a tree needs in an ext4 file system.
type footprint struct {
	blocks int64 // data and directory blocks
	inodes int64
}

func measure(root string) (footprint, error) {
	var fp footprint
	var dirBytes int64
	seen := map[uint64]bool{} // hard-linked inodes count once
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dirBytes += 8 + int64(len(d.Name())+3)&^3 // ext4 directory entry
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && !fi.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		fp.inodes++
		switch {
		case fi.Mode().IsRegular():
			fp.blocks += (fi.Size() + blockSize - 1) / blockSize
		case fi.IsDir():
			fp.blocks++
		case fi.Mode()&fs.ModeSymlink != 0:
			if fi.Size() > fastSymlinkMax {
				fp.blocks++
			}
		}
		return nil
	})
	fp.blocks += dirBytes / blockSize
	return fp, err
}

// size is the file system size for fp: content plus a tenth for extent
// blocks and fragmentation, the inode tables, and a fixed allowance for
// superblocks, group descriptors and bitmaps.
func (fp footprint) size() (bytes, inodes int64) {
	inodes = fp.inodes + fp.inodes/20 + 64
	bytes = fp.blocks*blockSize*11/10 + inodes*inodeSize + 4<<20
	return (bytes + 1<<20 - 1) &^ (1<<20 - 1), inodes
}

// mkfs builds a read-only ext4 image of dir at out. It has no journal
// (nothing writes to it) and no reserved blocks. Should the estimate
// prove short, it tries once more with twice the room.
func mkfs(ctx context.Context, dir, out string, fp footprint) error {
	size, inodes := fp.size()
	var err error
	for range 2 {
		os.Remove(out)
		var b []byte
		b, err = exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0",
			"-b", strconv.Itoa(blockSize), "-N", strconv.FormatInt(inodes, 10),
			"-d", dir, out, strconv.FormatInt(size/1024, 10)+"k").CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("mkfs.ext4: %v: %s", err, strings.TrimSpace(string(b)))
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		size, inodes = size*2, inodes*2
	}
	return err
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
