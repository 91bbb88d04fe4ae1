package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// entry is one tar entry of a test archive: a file (body), a directory
// (name ending in /), a symlink (link) or a hard link (hard).
type entry struct {
	name, body, link, hard string
	uid                    int
}

func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Uid: e.uid, Gid: e.uid, ModTime: time.Unix(1700000000, 0)}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		case e.hard != "":
			h.Typeflag, h.Linkname = tar.TypeLink, e.hard
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// snapshot lists everything below dir with its type, size and link.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func rootFd(t testing.TB, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func mustDo(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// box is a tree standing for a box's root, beside a sentinel directory
// that an escape would reach.
func box(t testing.TB) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	mustDo(t,
		os.MkdirAll(filepath.Join(root, "a/b"), 0o755),
		os.MkdirAll(filepath.Join(root, "etc"), 0o755),
		os.MkdirAll(outside, 0o755),
		os.WriteFile(filepath.Join(root, "a/f"), []byte("f"), 0o644),
		os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root"), 0o644),
		os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o644),
		os.Symlink("/a/b", filepath.Join(root, "a/abs")),
		os.Symlink("../../../../outside", filepath.Join(root, "a/up")),
		os.Symlink("loop", filepath.Join(root, "a/loop")),
		os.Symlink("/etc", filepath.Join(root, "etclink")),
	)
	return root, outside
}

func TestResolveIn(t *testing.T) {
	root, _ := box(t)
	tests := []struct {
		path   string
		follow bool
		base   string
		exists bool
		dir    bool
		code   string
		errno  error
	}{
		{path: "/a/f", base: "f", exists: true},
		{path: "a/f", base: "f", exists: true},
		{path: "/../../a/f", base: "f", exists: true},
		{path: "/a/abs", base: "abs", exists: true},
		{path: "/a/abs", follow: true, base: "b", exists: true, dir: true},
		{path: "/a/abs/", base: "b", exists: true, dir: true},
		{path: "/a/.", base: "a", exists: true, dir: true},
		{path: "/", base: ".", exists: true, dir: true},
		{path: "/a/new", base: "new"},
		{path: "/etclink/passwd", base: "passwd", exists: true},
		{path: "/a/up/keep", code: proto.ErrEscape},
		{path: "/a/up", follow: true, code: proto.ErrEscape},
		{path: "/nope/x", code: proto.ErrNotFound},
		{path: "/a/f/", errno: unix.ENOTDIR},
		{path: "/a/f/x", errno: unix.ENOTDIR},
		{path: "/a/loop/x", errno: unix.ELOOP},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			loc, err := resolveIn(rootFd(t, root), tt.path, tt.follow)
			var fe *fsError
			switch {
			case tt.code != "" || tt.errno != nil:
				if !errors.As(err, &fe) || fe.code != tt.code || (tt.errno != nil && !errors.Is(fe.err, tt.errno)) {
					t.Fatalf("err = %v, want code %q errno %v", err, tt.code, tt.errno)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			defer loc.dir.Close()
			if loc.base != tt.base || loc.exists != tt.exists || loc.isDir() != tt.dir {
				t.Fatalf("got base %q exists %v dir %v; want %q %v %v", loc.base, loc.exists, loc.isDir(), tt.base, tt.exists, tt.dir)
			}
		})
	}
}

func TestPut(t *testing.T) {
	tests := []struct {
		name string
		req  proto.FSRequest
		tar  []byte
		want map[string]string // path -> content ("" for a directory), checked after
		err  string
	}{
		{"file into a directory", proto.FSRequest{Path: "/a", Name: "g"}, tarOf(t, entry{name: "g", body: "new"}),
			map[string]string{"a/g": "new"}, ""},
		{"file to a new name", proto.FSRequest{Path: "/a/h", Name: "g"}, tarOf(t, entry{name: "g", body: "new"}),
			map[string]string{"a/h": "new"}, ""},
		{"file over a file", proto.FSRequest{Path: "/a/f", Name: "g"}, tarOf(t, entry{name: "g", body: "over"}),
			map[string]string{"a/f": "over"}, ""},
		{"file through a link to a directory", proto.FSRequest{Path: "/etclink", Name: "g"}, tarOf(t, entry{name: "g", body: "x"}),
			map[string]string{"etc/g": "x", "etc/passwd": "root"}, ""},
		{"directory to a new path", proto.FSRequest{Path: "/d", Name: "src", Dir: true},
			tarOf(t, entry{name: "src/"}, entry{name: "src/x", body: "x"}, entry{name: "src/l", link: "x"}, entry{name: "src/h", hard: "src/x"}),
			map[string]string{"d": "", "d/x": "x", "d/h": "x"}, ""},
		{"directory into a directory", proto.FSRequest{Path: "/", Name: "a", Dir: true},
			tarOf(t, entry{name: "a/"}, entry{name: "a/n", body: "n"}),
			map[string]string{"a/n": "n", "a/f": "f"}, ""},
		{"contents into a directory", proto.FSRequest{Path: "/etc", Content: true},
			tarOf(t, entry{name: "./"}, entry{name: "./passwd", body: "new"}, entry{name: "sub/deep", body: "d"}),
			map[string]string{"etc/passwd": "new", "etc/sub/deep": "d"}, ""},
		{"contents make a missing directory", proto.FSRequest{Path: "/fresh", Content: true, Dir: true},
			tarOf(t, entry{name: "x", body: "x"}),
			map[string]string{"fresh/x": "x"}, ""},
		{"stdin tar into a missing directory", proto.FSRequest{Path: "/fresh", Content: true}, tarOf(t, entry{name: "x", body: "x"}),
			nil, "must be a directory"},
		{"directory onto a file", proto.FSRequest{Path: "/a/f", Name: "d", Dir: true}, tarOf(t, entry{name: "d/"}),
			nil, "cannot copy a directory"},
		{"file onto a directory", proto.FSRequest{Path: "/", Name: "a"}, tarOf(t, entry{name: "a", body: "x"}),
			nil, "cannot overwrite directory"},
		{"missing parent", proto.FSRequest{Path: "/nope/x", Name: "g"}, tarOf(t, entry{name: "g", body: "x"}),
			nil, "no such file"},
		{"dot-dot entry", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "ok", body: "x"}, entry{name: "../../outside/evil", body: "x"}), nil, "escapes"},
		{"absolute entry", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "ok", body: "x"}, entry{name: "/evil", body: "x"}), nil, "escapes"},
		{"entry through a planted link", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "ok", body: "x"}, entry{name: "l", link: "/etc"}, entry{name: "l/passwd", body: "x"}), nil, "symbolic link"},
		{"entry through a relative link", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "l", link: "../../../outside"}, entry{name: "l/evil", body: "x"}), nil, "symbolic link"},
		{"hard link out of the archive", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "ok", body: "x"}, entry{name: "h", hard: "etc/passwd"}), nil, "does not hold"},
		{"two items", proto.FSRequest{Path: "/a", Name: "g"},
			tarOf(t, entry{name: "g", body: "x"}, entry{name: "other", body: "y"}), nil, "must hold one"},
		{"directory replaced by a file in the archive", proto.FSRequest{Path: "/a", Content: true},
			tarOf(t, entry{name: "b", body: "x"}), nil, "cannot overwrite directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, outside := box(t)
			before, beforeOut := snapshot(t, root), snapshot(t, outside)
			err := put(t, root, &tt.req, tt.tar)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one naming %q", err, tt.err)
				}
				if got := snapshot(t, root); got != before {
					t.Fatalf("a refused put changed the box:\n%s\nwas\n%s", got, before)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, outside); got != beforeOut {
				t.Fatalf("the put reached outside the box:\n%s", got)
			}
			for p, want := range tt.want {
				fi, err := os.Lstat(filepath.Join(root, p))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if want == "" {
					if !fi.IsDir() {
						t.Fatalf("%s is not a directory", p)
					}
					continue
				}
				if b, _ := os.ReadFile(filepath.Join(root, p)); string(b) != want {
					t.Fatalf("%s = %q, want %q", p, b, want)
				}
			}
			if strings.Contains(snapshot(t, root), stagingPrefix) {
				t.Fatalf("staging directory left behind")
			}
		})
	}
}

func put(t testing.TB, root string, req *proto.FSRequest, data []byte) error {
	loc, err := resolveIn(rootFd(t, root), req.Path, true)
	if err != nil {
		return err
	}
	return putAt(loc, req, bytes.NewReader(data), func(string) error { return nil })
}

func TestPutOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files owners")
	}
	for _, owners := range []bool{false, true} {
		root, _ := box(t)
		data := tarOf(t, entry{name: "g", body: "x", uid: 1234})
		if err := put(t, root, &proto.FSRequest{Path: "/a", Name: "g", Owners: owners}, data); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		mustDo(t, unix.Lstat(filepath.Join(root, "a/g"), &st))
		want := uint32(0)
		if owners {
			want = 1234
		}
		if st.Uid != want || st.Gid != want {
			t.Fatalf("owners %v: file is %d:%d, want %d", owners, st.Uid, st.Gid, want)
		}
	}
}

func TestPutLargeFileDirect(t *testing.T) {
	root, _ := box(t)
	body := strings.Repeat("0123456789abcdef", (3<<20)/16) + "tail"
	if err := put(t, root, &proto.FSRequest{Path: "/a", Name: "big"}, tarOf(t, entry{name: "big", body: body})); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "a/big")); string(b) != body {
		t.Fatalf("big file came out %d bytes, want %d", len(b), len(body))
	}
}

// TestChanges builds an overlay's upper directory by hand: a whiteout, an
// opaque directory, an added tree, a changed file, a directory copied up
// unchanged, and a3s-box's own files.
func TestChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for whiteouts and trusted xattrs")
	}
	dir := t.TempDir()
	lower, upper := filepath.Join(dir, "lower"), filepath.Join(dir, "upper")
	old := time.Unix(1700000000, 0)
	for _, d := range []string{"bin", "etc", "usr/local", "home/app"} {
		mustDo(t, os.MkdirAll(filepath.Join(lower, d), 0o755))
	}
	mustDo(t,
		os.WriteFile(filepath.Join(lower, "bin/x"), nil, 0o755),
		os.WriteFile(filepath.Join(lower, "etc/passwd"), nil, 0o644),
		os.WriteFile(filepath.Join(lower, "usr/local/y"), nil, 0o644),
	)
	for _, d := range []string{"bin", "etc", "usr/local", "home/app", "srv/a", "proc"} {
		mustDo(t, os.MkdirAll(filepath.Join(upper, d), 0o755))
	}
	mustDo(t,
		unix.Mknod(filepath.Join(upper, "bin/x"), unix.S_IFCHR|0o600, 0),
		os.WriteFile(filepath.Join(upper, "etc/passwd"), []byte("x"), 0o644),
		os.WriteFile(filepath.Join(upper, "etc/hosts"), []byte("x"), 0o644),
		os.WriteFile(filepath.Join(upper, "srv/a/new"), nil, 0o644),
		os.WriteFile(filepath.Join(upper, "usr/local/z"), nil, 0o644),
		unix.Setxattr(filepath.Join(upper, "usr/local"), "trusted.overlay.opaque", []byte("y"), 0),
	)
	// etc and home/app are copied up unchanged: same times as below.
	for _, d := range []string{"etc", "home/app", "home", "usr", "bin"} {
		mustDo(t, os.Chtimes(filepath.Join(lower, d), old, old), os.Chtimes(filepath.Join(upper, d), old, old))
	}
	u, err := os.Open(upper)
	mustDo(t, err)
	defer u.Close()
	l, err := os.Open(lower)
	mustDo(t, err)
	defer l.Close()
	var got []string
	mustDo(t, changes(u, l, func(c proto.Change) error {
		got = append(got, c.Kind+" "+c.Path)
		return nil
	}))
	want := []string{
		"C /bin", "D /bin/x",
		"C /etc/passwd",
		"A /srv", "A /srv/a", "A /srv/a/new",
		"C /usr", "D /usr/local", "A /usr/local/z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzPut feeds arbitrary archives to a put into a directory: it may
// refuse them, never panic, never write outside the box, and a refused
// one changes nothing.
func FuzzPut(f *testing.F) {
	seeds := [][]entry{
		{{name: "ok", body: "x"}, {name: "d/"}, {name: "d/h", hard: "ok"}, {name: "d/l", link: "../ok"}},
		{{name: "l", link: "/etc"}, {name: "l/passwd", body: "x"}},
		{{name: "../../outside/evil", body: "x"}, {name: "/abs", body: "x"}},
		{{name: "h", hard: "../outside/keep"}, {name: "b", body: "x"}, {name: "b/c", body: "y"}},
	}
	for _, s := range seeds {
		f.Add(tarOf(f, s...))
	}
	f.Add([]byte("not a tar stream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, outside := box(t)
		before, beforeOut := snapshot(t, root), snapshot(t, outside)
		err := put(t, root, &proto.FSRequest{Path: "/a", Content: true}, data)
		if got := snapshot(t, outside); got != beforeOut {
			t.Fatalf("the put reached outside the box:\n%s", got)
		}
		if err != nil && snapshot(t, root) != before {
			t.Fatalf("a refused put (%v) changed the box", err)
		}
	})
}
