package initramfs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// cpioEntry is one member of a newc archive as readNewc decodes it.
type cpioEntry struct {
	name         string
	ino, mode    uint32
	nlink, mtime uint32
	rmaj, rmin   uint32
	data         string
}

// readNewc decodes a newc archive independently of cpioWriter, checking
// the alignment rules the kernel relies on.
func readNewc(b []byte) ([]cpioEntry, error) {
	var out []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, _ := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		return uint32(v)
	}
	for {
		if off%4 != 0 {
			return nil, fmt.Errorf("header at %d not 4-aligned", off)
		}
		if len(b) < off+110 || string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("no newc header at %d", off)
		}
		e := cpioEntry{ino: field(0), mode: field(1), nlink: field(4), mtime: field(5), rmaj: field(9), rmin: field(10)}
		if field(2) != 0 || field(3) != 0 {
			return nil, fmt.Errorf("entry at %d not owned by root", off)
		}
		size, namesize := int(field(6)), int(field(11))
		nameEnd := off + 110 + namesize
		if namesize == 0 || nameEnd > len(b) || b[nameEnd-1] != 0 {
			return nil, fmt.Errorf("bad name at %d", off)
		}
		e.name = string(b[off+110 : nameEnd-1])
		data := (nameEnd + 3) &^ 3
		if data+size > len(b) {
			return nil, fmt.Errorf("%s: truncated", e.name)
		}
		e.data = string(b[data : data+size])
		off = (data + size + 3) &^ 3
		if e.name == cpioTrailer {
			if off != len(b) {
				return nil, fmt.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out, nil
		}
		out = append(out, e)
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	cw := &cpioWriter{w: &buf}
	// Name lengths 1..4 and sizes 0..5 cover every padding case.
	want := []cpioEntry{
		{name: "d", mode: syscall.S_IFDIR | 0o755, nlink: 2},
		{name: "tm", mode: syscall.S_IFDIR | syscall.S_ISVTX | 0o777, nlink: 2},
		{name: "d/c", mode: syscall.S_IFCHR | 0o600, nlink: 1, rmaj: 5, rmin: 1},
	}
	for _, e := range want {
		mode := fs.FileMode(e.mode & 0o777)
		switch e.mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			if e.mode&syscall.S_ISVTX != 0 {
				mode |= fs.ModeSticky
			}
			cw.dir(e.name, mode)
		case syscall.S_IFCHR:
			cw.charDev(e.name, mode, e.rmaj, e.rmin)
		}
	}
	for size := range 6 {
		e := cpioEntry{name: strings.Repeat("f", size%4+1) + strconv.Itoa(size), mode: syscall.S_IFREG | 0o644, nlink: 1, data: strings.Repeat("x", size)}
		cw.file(e.name, 0o644, int64(size), strings.NewReader(e.data))
		want = append(want, e)
	}
	if err := cw.close(); err != nil {
		t.Fatal(err)
	}
	got, err := readNewc(buf.Bytes())
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %d entries, want %d", len(got), len(want))
	}
	inos := map[uint32]bool{}
	for i := range want {
		want[i].ino = got[i].ino
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
		if inos[got[i].ino] || got[i].ino == 0 {
			t.Errorf("entry %s: inode %d not unique", got[i].name, got[i].ino)
		}
		inos[got[i].ino] = true
	}
}

func TestCPIOWriterShortFile(t *testing.T) {
	cw := &cpioWriter{w: io.Discard}
	err := cw.file("f", 0o644, 10, strings.NewReader("short"))
	if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("file with a short reader: err = %v, want unexpected EOF", err)
	}
	if cw.close() == nil {
		t.Fatal("close after a failed entry succeeded")
	}
}

// TestCPIOWriterWithCpio has GNU cpio, an implementation written by
// others, extract the archive.
func TestCPIOWriterWithCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio on this machine")
	}
	var buf bytes.Buffer
	cw := &cpioWriter{w: &buf}
	cw.dir("a", 0o755)
	cw.dir("a/b", 0o700)
	cw.file("a/b/f", 0o640, 3, strings.NewReader("abc"))
	cw.file("g", 0o755, 0, strings.NewReader(""))
	if err := cw.close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-i", "-d", "--quiet", "--no-absolute-filenames")
	cmd.Dir, cmd.Stdin = dir, &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	for name, want := range map[string]fs.FileMode{"a": fs.ModeDir | 0o755, "a/b": fs.ModeDir | 0o700, "a/b/f": 0o640, "g": 0o755} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a/b/f")); string(b) != "abc" {
		t.Errorf("a/b/f = %q, want abc", b)
	}
}
