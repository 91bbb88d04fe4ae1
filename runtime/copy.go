package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/guestinit/proto/tarfs"
	"github.com/a3s-box/a3s-box/runtime/image"
	"golang.org/x/sys/unix"
)

// CopyOptions are cp's flags.
type CopyOptions struct {
	Follow bool // -L: follow a symbolic link at the end of SRC
	Owners bool // -a: keep owners; otherwise the receiving side's user owns the copy
	// Progress hears of the bytes of the copy's tar as they move, for a
	// progress line; nil hears nothing.
	Progress func(n int64)
	// Skipped hears of each file a copy out of a box leaves in the box:
	// its device nodes and FIFOs, which are never made on the host.
	Skipped func(name, kind string)
}

// counted passes what moves through w to o.Progress.
func (o CopyOptions) counted(w io.Writer) io.Writer {
	if o.Progress == nil {
		return w
	}
	return progressWriter{w, o.Progress}
}

type progressWriter struct {
	w  io.Writer
	fn func(int64)
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.fn(int64(n))
	return n, err
}

type progressReader struct {
	r  io.Reader
	fn func(int64)
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.fn(int64(n))
	return n, err
}

// dotPath tells a path that ends in "/." (cp SRC/.: a directory's
// contents) and slashPath one that ends in a separator or "/.".
func dotPath(p string) bool   { return p == "." || strings.HasSuffix(p, "/.") }
func slashPath(p string) bool { return strings.HasSuffix(p, "/") || dotPath(p) }

// CopyOut copies src from box b to dst on the host, by docker cp's rules:
// a file goes to dst, or into it when dst is a directory; a directory
// becomes dst when that does not exist, and goes into it when it does
// (its contents only, for SRC/.). The host side extracts with the rootfs
// builder's safety (image.Extract): whatever the box's tar holds, nothing
// lands outside the destination.
func (r *Runtime) CopyOut(ctx context.Context, b *Box, src, dst string, o CopyOptions) error {
	trailing := slashPath(dst)
	dst, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	dstInfo, dstErr := os.Stat(dst)
	if dstErr != nil && !errors.Is(dstErr, os.ErrNotExist) {
		return dstErr
	}
	parent := filepath.Dir(dst)
	if dstErr != nil {
		if _, err := os.Stat(parent); err != nil {
			return fmt.Errorf("invalid output path: directory %q does not exist", parent)
		}
	}
	info, dr, release, err := r.fsRead(ctx, b, &proto.FSRequest{Op: proto.FSGet, Path: src, Follow: o.Follow})
	if err != nil {
		return err
	}
	defer release()
	// The name comes from the box: it must be one plain component before
	// any host path is made of it.
	if n := info.Name; n == "" || n == ".." || strings.ContainsRune(n, '/') {
		return fmt.Errorf("copy %s from box %s: the box named the item %q", src, b.Name, n)
	}
	eo := image.ExtractOptions{Owners: o.Owners, Item: info.Name}
	if o.Skipped != nil {
		// The tar names entries from the item's parent in the box.
		parent := path.Dir(path.Clean("/" + src))
		eo.Skipped = func(name, kind string) { o.Skipped(path.Join(parent, name), kind) }
	}
	var dir string
	var created string // a directory this copy made, removed again if it fails
	switch {
	case dstErr == nil && dstInfo.IsDir():
		switch {
		case info.Dir && (dotPath(src) || info.Name == "."):
			dir, eo.Contents = dst, true
		case info.Dir:
			dir = filepath.Join(dst, info.Name)
			if created, err = makeCopyDir(dir); err != nil {
				return err
			}
		default:
			dir, eo.As = dst, info.Name
			if fi, err := os.Lstat(filepath.Join(dst, info.Name)); err == nil && fi.IsDir() {
				return fmt.Errorf("cannot overwrite directory %q with non-directory", filepath.Join(dst, info.Name))
			}
		}
	case dstErr == nil:
		if info.Dir {
			return fmt.Errorf("cannot copy directory %s to %s, which is a file", src, dst)
		}
		dir, eo.As = parent, filepath.Base(filepath.Clean(dst))
	case info.Dir:
		dir = dst
		if created, err = makeCopyDir(dir); err != nil {
			return err
		}
	case trailing:
		return fmt.Errorf("no such directory: %s (a file is copied into an existing directory only)", dst)
	default:
		dir, eo.As = parent, filepath.Base(dst)
	}
	if o.Progress != nil {
		dr = progressReader{dr, o.Progress}
	}
	err = image.Extract(ctx, dr, dir, eo)
	if err == nil {
		// What follows the tar's end up to the data's end, where a
		// failure the guest met last would show.
		_, err = io.Copy(io.Discard, dr)
	}
	if err != nil {
		if created != "" {
			os.RemoveAll(created)
		}
		return boxFSError(b, fmt.Errorf("copy %s from box %s: %w", src, b.Name, err))
	}
	return nil
}

// makeCopyDir makes the directory a copied directory lands in, unless it
// is there; it returns the path when it made it.
func makeCopyDir(dir string) (string, error) {
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return "", nil
	case err == nil:
		return "", fmt.Errorf("cannot overwrite non-directory %q with directory", dir)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// CopyOutTar writes a tar of src in box b to w (cp BOX:SRC -): its
// entries are named from SRC's own name down.
func (r *Runtime) CopyOutTar(ctx context.Context, b *Box, src string, w io.Writer, o CopyOptions) error {
	_, data, release, err := r.fsRead(ctx, b, &proto.FSRequest{Op: proto.FSGet, Path: src, Follow: o.Follow})
	if err != nil {
		return err
	}
	defer release()
	if _, err := io.Copy(o.counted(w), data); err != nil {
		return boxFSError(b, fmt.Errorf("copy %s from box %s: %w", src, b.Name, err))
	}
	return nil
}

// CopyIn copies src on the host to dst in box b, by docker cp's rules.
// The guest extracts into a staging directory beside the destination and
// moves the result into place only once all of it is in, so a refused
// copy changes nothing in the box.
func (r *Runtime) CopyIn(ctx context.Context, b *Box, src, dst string, o CopyOptions) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	stat := os.Lstat
	if o.Follow {
		stat = os.Stat
	}
	fi, err := stat(abs)
	if err != nil {
		return err
	}
	if slashPath(src) && !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", src)
	}
	// With -L a link is archived as what it points at, under its own name.
	real := abs
	if o.Follow {
		if real, err = filepath.EvalSymlinks(abs); err != nil {
			return err
		}
	}
	dir, err := os.Open(filepath.Dir(real))
	if err != nil {
		return err
	}
	defer dir.Close()
	req := &proto.FSRequest{Op: proto.FSPut, Path: dst, Name: filepath.Base(abs), Dir: fi.IsDir(),
		Content: fi.IsDir() && dotPath(src), Owners: o.Owners}
	return r.put(ctx, b, req, func(w io.Writer) error {
		a := tarfs.NewArchiver(o.counted(w))
		if req.Content {
			d, err := openAt(dir, filepath.Base(real))
			if err != nil {
				return err
			}
			defer d.Close()
			if err := a.AddContents(d, ""); err != nil {
				return err
			}
		} else if err := a.Add(int(dir.Fd()), filepath.Base(real), req.Name); err != nil {
			return err
		}
		return a.Close()
	})
}

// openAt opens directory name in dir for reading, not following a link.
func openAt(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// CopyInTar extracts the tar r into directory dst of box b (cp - BOX:DST).
// The guest checks every entry; a tar that tries to leave the directory
// is refused and changes nothing.
func (r *Runtime) CopyInTar(ctx context.Context, b *Box, rd io.Reader, dst string, o CopyOptions) error {
	req := &proto.FSRequest{Op: proto.FSPut, Path: dst, Content: true, Owners: o.Owners}
	return r.put(ctx, b, req, func(w io.Writer) error {
		_, err := io.Copy(o.counted(w), rd)
		return err
	})
}

// put sends a put request and the tar write makes, and waits for the
// guest to have placed it.
func (r *Runtime) put(ctx context.Context, b *Box, req *proto.FSRequest, write func(io.Writer) error) error {
	s, err := r.openFS(ctx, b)
	if err != nil {
		return err
	}
	defer s.close()
	// With a spool the whole tar is in it before the guest is asked.
	sp, err := newSpoolFile(s.spool)
	if err != nil {
		return err
	}
	defer sp.remove()
	if sp != nil {
		w := bufio.NewWriterSize(sp.f, 256<<10)
		if err = write(w); err == nil {
			err = w.Flush()
		}
		if err != nil {
			return fmt.Errorf("copy to box %s: %w", b.Name, err)
		}
		req.Spool = sp.name
	}
	st, _, release, err := fsRequest(ctx, s, req)
	if err != nil {
		return boxFSError(b, err)
	}
	defer release()
	werr := make(chan error, 1)
	if sp != nil {
		werr <- nil
	} else {
		go func() { werr <- sendData(st, write) }()
	}
	// The guest answers once the tar is placed, or as soon as it refuses
	// an entry; the stream then closes, which stops the writer.
	var ack proto.Ack
	err = proto.ReadMessage(st, &ack)
	if err != nil {
		st.Close()
	}
	if wErr := <-werr; wErr != nil && (err == nil || !isGuestError(err)) {
		return fmt.Errorf("copy to box %s: %w", b.Name, wErr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return boxFSError(b, err)
	}
	return nil
}

func isGuestError(err error) bool {
	var pe *proto.Error
	return errors.As(err, &pe)
}

// sendData writes a data stream made by write to st, then its end; a
// failure closes st, so that the guest stops waiting.
func sendData(st net.Conn, write func(io.Writer) error) error {
	dw := proto.NewDataWriter(st)
	err := write(dw)
	if err == nil {
		err = dw.Close()
	}
	if err != nil {
		st.Close()
	}
	return err
}
