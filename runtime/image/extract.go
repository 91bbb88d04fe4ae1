package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Owners gives entries the tar's owners (cp -a, as root); otherwise
	// they belong to the caller.
	Owners bool
	// Item is the name of the one item the tar holds, at its top: every
	// entry must be Item or below it. The entries land under the
	// extraction directory named As instead of Item ("" for the
	// directory itself, whose entry then gives it its metadata), and
	// with Contents the item's own entry is left out (cp SRC/.).
	Item, As string
	Contents bool
	// Skipped hears of each entry that is not made on the host, by its
	// name in the tar: a device node or a FIFO, which a box must not
	// plant there.
	Skipped func(name, kind string)
}

// ErrForeignEntry is an entry of a tar that is not below its one item.
var ErrForeignEntry = errors.New("is not part of the item copied")

// Extract writes a tar of plain files (cp's, not an image layer) into
// dir with the rootfs builder's safety: every name is checked, every
// path resolved inside dir without following a symbolic link out of it,
// and the bytes written bounded by the free space. What comes out of a
// box never makes a set-id file or a device node on the host: set-id
// bits are cleared, even with Owners, and device nodes and FIFOs are
// skipped (Skipped hears of them). Symbolic links are
// kept as written, whiteout names are ordinary names, and a directory
// neither replaces nor is replaced by a non-directory (Docker's cp).
func Extract(ctx context.Context, r io.Reader, dir string, o ExtractOptions) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space in %s: %w", dir, err)
	}
	free := int64(st.Bavail) * st.Bsize
	f := newFlattener(dir, free, fmt.Sprintf("it needs more than the %s free in %s", sizeString(free), dir))
	f.plain, f.chown, f.skipped = true, o.Owners && f.asRoot, o.Skipped
	if err := f.read(ctx, r, o.rename); err != nil {
		return err
	}
	return f.finish()
}

// rename maps an entry name below Item to its name below the extraction
// directory.
func (o ExtractOptions) rename(name string) (string, error) {
	if o.Item == "" {
		return name, nil
	}
	first, rest, _ := strings.Cut(name, "/")
	for first == "." && rest != "" {
		first, rest, _ = strings.Cut(rest, "/")
	}
	if first != o.Item {
		return "", ErrForeignEntry
	}
	if strings.Trim(rest, "/") == "" && o.Contents {
		return "", errSkip
	}
	if o.As == "" {
		return rest, nil
	}
	return o.As + "/" + rest, nil
}
