package initramfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
)

// cpioWriter writes the SVR4 "newc" cpio format, the one the kernel
// unpacks into its rootfs (Documentation/driver-api/early-userspace/
// buffer-format.rst). Every entry has owner root and mtime 0, so the
// archive depends only on names, modes and contents.
type cpioWriter struct {
	w   io.Writer
	ino uint32 // the kernel links entries with equal inode numbers and nlink > 1: keep them distinct
	off int64
	err error
}

const cpioTrailer = "TRAILER!!!"

func (c *cpioWriter) dir(name string, perm fs.FileMode) error {
	return c.entry(name, syscall.S_IFDIR|uint32(perm.Perm())|sticky(perm), 2, 0, 0, 0, nil)
}

func (c *cpioWriter) charDev(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, syscall.S_IFCHR|uint32(perm.Perm()), 1, major, minor, 0, nil)
}

// file writes a regular file of size bytes read from r.
func (c *cpioWriter) file(name string, perm fs.FileMode, size int64, r io.Reader) error {
	return c.entry(name, syscall.S_IFREG|uint32(perm.Perm()), 1, 0, 0, size, r)
}

// close writes the trailer entry that ends the archive.
func (c *cpioWriter) close() error {
	return c.entry(cpioTrailer, 0, 1, 0, 0, 0, nil)
}

func sticky(perm fs.FileMode) uint32 {
	if perm&fs.ModeSticky != 0 {
		return syscall.S_ISVTX
	}
	return 0
}

func (c *cpioWriter) entry(name string, mode, nlink, rmajor, rminor uint32, size int64, r io.Reader) error {
	if c.err != nil {
		return c.err
	}
	if size > 0xffffffff {
		return fmt.Errorf("cpio %s: %d bytes is more than newc can hold", name, size)
	}
	ino := uint32(0)
	if name != cpioTrailer {
		c.ino++
		ino = c.ino
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	c.write([]byte(hdr + name + "\x00"))
	c.pad()
	if r != nil && c.err == nil {
		n, err := io.CopyN(c.w, r, size)
		c.off += n
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			c.err = fmt.Errorf("cpio %s: %w", name, err)
		}
	}
	c.pad()
	return c.err
}

// pad aligns the next header or file body to 4 bytes, as newc requires.
func (c *cpioWriter) pad() {
	if n := (4 - c.off%4) % 4; n > 0 {
		c.write(make([]byte, n))
	}
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	if err != nil {
		c.err = fmt.Errorf("cpio: %w", err)
	}
}
