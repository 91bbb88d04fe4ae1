package tarfs

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// listing is a tar's entries, one line each: type, name, and its link
// target or content.
func listing(t *testing.T, b []byte) string {
	t.Helper()
	var lines []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		mustDo(t, err)
		body, _ := io.ReadAll(tr)
		line := fmt.Sprintf("%c %s %o %d", h.Typeflag, h.Name, h.Mode, h.Uid)
		switch {
		case h.Linkname != "":
			line += " -> " + h.Linkname
		case len(body) > 0:
			line += " " + string(body)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func TestArchiveTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory an owner")
	}
	dir := t.TempDir()
	d := filepath.Join(dir, "d")
	mustDo(t,
		os.MkdirAll(filepath.Join(d, "sub"), 0o750),
		os.WriteFile(filepath.Join(d, "f"), []byte("file"), 0o640),
		os.Link(filepath.Join(d, "f"), filepath.Join(d, "sub/h")),
		os.Symlink("../f", filepath.Join(d, "sub/l")),
		unix.Mkfifo(filepath.Join(d, "p"), 0o600),
		os.Chmod(d, 0o755),
		os.Lchown(filepath.Join(d, "sub"), 1000, 1000),
	)
	parent, err := os.Open(dir)
	mustDo(t, err)
	defer parent.Close()
	var b bytes.Buffer
	a := NewArchiver(&b)
	mustDo(t, a.Add(int(parent.Fd()), "d", "item"), a.Close())
	want := strings.Join([]string{
		"5 item/ 755 0",
		"0 item/f 640 0 file",
		"6 item/p 600 0",
		"5 item/sub/ 750 1000",
		"1 item/sub/h 640 0 -> item/f",
		"2 item/sub/l 777 0 -> ../f",
	}, "\n")
	if got := listing(t, b.Bytes()); got != want {
		t.Fatalf("archive:\n%s\nwant\n%s", got, want)
	}
}

func TestArchiveLayer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for whiteouts and trusted xattrs")
	}
	upper := t.TempDir()
	mustDo(t,
		os.MkdirAll(filepath.Join(upper, "etc"), 0o755),
		os.MkdirAll(filepath.Join(upper, "proc"), 0o755),
		os.MkdirAll(filepath.Join(upper, "opq"), 0o755),
		unix.Mknod(filepath.Join(upper, "etc/gone"), unix.S_IFCHR|0o600, 0),
		os.WriteFile(filepath.Join(upper, "etc/hosts"), []byte("x"), 0o644),
		os.WriteFile(filepath.Join(upper, "opq/new"), []byte("n"), 0o644),
		unix.Setxattr(filepath.Join(upper, "opq"), "trusted.overlay.opaque", []byte("y"), 0),
	)
	for _, p := range []string{"etc", "opq", "proc"} {
		mustDo(t, os.Chmod(filepath.Join(upper, p), 0o755))
	}
	d, err := os.Open(upper)
	mustDo(t, err)
	defer d.Close()
	var b bytes.Buffer
	a := NewArchiver(&b)
	a.Layer = true
	a.Skip = func(name string) bool { return name == "proc" || name == "etc/hosts" }
	mustDo(t, a.AddContents(d, ""), a.Close())
	want := strings.Join([]string{
		"5 etc/ 755 0",
		"0 etc/.wh.gone 600 0",
		"5 opq/ 755 0",
		"0 opq/.wh..wh..opq 600 0",
		"0 opq/new 644 0 n",
	}, "\n")
	if got := listing(t, b.Bytes()); got != want {
		t.Fatalf("layer:\n%s\nwant\n%s", got, want)
	}
}

func TestArchiveDirectRead(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16+7) // past directMin, not block aligned
	mustDo(t, os.WriteFile(filepath.Join(dir, "big"), body, 0o644))
	parent, err := os.Open(dir)
	mustDo(t, err)
	defer parent.Close()
	var b bytes.Buffer
	a := NewArchiver(&b)
	a.Direct = true
	mustDo(t, a.Add(int(parent.Fd()), "big", "big"), a.Close())
	tr := tar.NewReader(&b)
	_, err = tr.Next()
	mustDo(t, err)
	got, err := io.ReadAll(tr)
	mustDo(t, err)
	if !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes back, want %d", len(got), len(body))
	}
}
