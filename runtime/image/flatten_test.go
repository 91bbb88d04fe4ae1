package image

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

// sandbox is a tree to flatten into, next to a sentinel directory that
// escapes would reach: <dir>/root and <dir>/outside/keep.
type sandbox struct {
	dir, root, outside string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	dir := t.TempDir()
	sb := &sandbox{dir: dir, root: filepath.Join(dir, "root"), outside: filepath.Join(dir, "outside")}
	for _, d := range []string{sb.root, sb.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sb.outside, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sb
}

// flatten applies layers to the sandbox's root with a budget of limit bytes.
func (sb *sandbox) flatten(t testing.TB, limit int64, layers ...[]it.Entry) error {
	t.Helper()
	f := newFlattener(sb.root, limit, "test limit")
	for _, entries := range layers {
		b, err := it.Tar(entries)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.apply(context.Background(), bytes.NewReader(b)); err != nil {
			return err
		}
	}
	return f.finish()
}

// intact fails unless nothing beside the root changed.
func (sb *sandbox) intact(t testing.TB) {
	t.Helper()
	if got := names(t, sb.dir); strings.Join(got, ",") != "outside,root" {
		t.Fatalf("sandbox holds %v, want only outside and root", got)
	}
	if got := names(t, sb.outside); strings.Join(got, ",") != "keep" {
		t.Fatalf("sentinel directory holds %v, want only keep", got)
	}
	if b, err := os.ReadFile(filepath.Join(sb.outside, "keep")); err != nil || string(b) != "keep" {
		t.Fatalf("sentinel file changed: %q, %v", b, err)
	}
}

func names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// listing describes a tree: one "path type mode uid:gid [-> target|=body]"
// line per entry, sorted.
func listing(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		line := rel + " " + fi.Mode().String() + " " + itoa(st.Uid) + ":" + itoa(st.Gid)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " =" + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestFlatten(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ownership checks need root")
	}
	tests := []struct {
		name   string
		layers [][]it.Entry
		want   []string
	}{
		{
			name: "files dirs symlinks modes owners",
			layers: [][]it.Entry{{
				it.Dir("etc", 0o755),
				it.File("etc/conf", 0o640, "x").Owned(5, 6),
				it.File("suid", 0o4755, "s"),
				it.Dir("tmp", 0o1777),
				it.Symlink("link", "etc/conf"),
				it.File("implicit/parent/file", 0o600, "p"),
			}},
			want: []string{
				"etc drwxr-xr-x 0:0",
				"etc/conf -rw-r----- 5:6 =x",
				"implicit drwxr-xr-x 0:0",
				"implicit/parent drwxr-xr-x 0:0",
				"implicit/parent/file -rw------- 0:0 =p",
				"link Lrwxrwxrwx 0:0 -> etc/conf",
				"suid urwxr-xr-x 0:0 =s",
				"tmp dtrwxrwxrwx 0:0",
			},
		},
		{
			name: "whiteout removes a lower file",
			layers: [][]it.Entry{
				{it.File("a/x", 0o644, "x"), it.File("a/y", 0o644, "y")},
				{it.File("a/.wh.x", 0o644, "")},
			},
			want: []string{"a drwxr-xr-x 0:0", "a/y -rw-r--r-- 0:0 =y"},
		},
		{
			name: "whiteout removes a lower directory tree",
			layers: [][]it.Entry{
				{it.File("d/sub/f", 0o644, "f"), it.File("k", 0o644, "k")},
				{it.File(".wh.d", 0o644, "")},
			},
			want: []string{"k -rw-r--r-- 0:0 =k"},
		},
		{
			name: "whiteout spares the same layer's entry",
			layers: [][]it.Entry{
				{it.File("x", 0o644, "old")},
				{it.File("x", 0o644, "new"), it.File(".wh.x", 0o644, "")},
			},
			want: []string{"x -rw-r--r-- 0:0 =new"},
		},
		{
			name: "opaque directory hides lower content only",
			layers: [][]it.Entry{
				{it.File("d/old", 0o644, "o"), it.File("d/sub/old2", 0o644, "o"), it.File("e/keep", 0o644, "k")},
				{it.Dir("d", 0o750), it.File("d/new", 0o644, "n"), it.File("d/.wh..wh..opq", 0o644, ""), it.File("d/late", 0o644, "l")},
			},
			want: []string{
				"d drwxr-x--- 0:0",
				"d/late -rw-r--r-- 0:0 =l",
				"d/new -rw-r--r-- 0:0 =n",
				"e drwxr-xr-x 0:0",
				"e/keep -rw-r--r-- 0:0 =k",
			},
		},
		{
			name: "hard links share the inode",
			layers: [][]it.Entry{
				{it.File("bin/tool", 0o755, "t"), it.Hardlink("bin/alias", "bin/tool")},
				{it.Hardlink("usr/bin/tool", "./bin/tool")},
			},
			want: []string{
				"bin drwxr-xr-x 0:0",
				"bin/alias -rwxr-xr-x 0:0 =t",
				"bin/tool -rwxr-xr-x 0:0 =t",
				"usr drwxr-xr-x 0:0",
				"usr/bin drwxr-xr-x 0:0",
				"usr/bin/tool -rwxr-xr-x 0:0 =t",
			},
		},
		{
			name: "upper layer replaces file by directory and directory by symlink",
			layers: [][]it.Entry{
				{it.File("a", 0o644, "file"), it.File("b/inner", 0o644, "i")},
				{it.Dir("a", 0o755), it.Symlink("b", "a")},
			},
			want: []string{"a drwxr-xr-x 0:0", "b Lrwxrwxrwx 0:0 -> a"},
		},
		{
			name: "merged /usr: a lower symlink is followed inside the root",
			layers: [][]it.Entry{
				{it.Dir("usr/lib", 0o755), it.Symlink("lib", "usr/lib")},
				{it.File("lib/libc.so", 0o644, "c")},
			},
			want: []string{
				"lib Lrwxrwxrwx 0:0 -> usr/lib",
				"usr drwxr-xr-x 0:0",
				"usr/lib drwxr-xr-x 0:0",
				"usr/lib/libc.so -rw-r--r-- 0:0 =c",
			},
		},
		{
			name: "absolute symlink target means the rootfs root",
			layers: [][]it.Entry{
				{it.Symlink("top", "/"), it.Symlink("etc", "/real")},
				{it.File("top/a3s-flatten-test-inside", 0o644, "in"), it.File("etc/x", 0o644, "x")},
			},
			want: []string{
				"a3s-flatten-test-inside -rw-r--r-- 0:0 =in",
				"etc Lrwxrwxrwx 0:0 -> /real",
				"real drwxr-xr-x 0:0",
				"real/x -rw-r--r-- 0:0 =x",
				"top Lrwxrwxrwx 0:0 -> /",
			},
		},
		{
			name: "whiteout through a symlink stays inside the root",
			layers: [][]it.Entry{
				{it.Symlink("top", "/"), it.File("victim", 0o644, "v"), it.File("other", 0o644, "o")},
				{it.File("top/.wh.victim", 0o644, "")},
			},
			want: []string{"other -rw-r--r-- 0:0 =o", "top Lrwxrwxrwx 0:0 -> /"},
		},
		{
			name:   "relative symlink that stays inside",
			layers: [][]it.Entry{{it.Dir("a/b", 0o755), it.Symlink("a/b/up", "../../c"), it.File("a/b/up/f", 0o644, "f")}},
			want: []string{
				"a drwxr-xr-x 0:0",
				"a/b drwxr-xr-x 0:0",
				"a/b/up Lrwxrwxrwx 0:0 -> ../../c",
				"c drwxr-xr-x 0:0",
				"c/f -rw-r--r-- 0:0 =f",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			if err := sb.flatten(t, 1<<20, tc.layers...); err != nil {
				t.Fatal(err)
			}
			sb.intact(t)
			got := listing(t, sb.root)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestFlattenInodesAndTimes(t *testing.T) {
	sb := newSandbox(t)
	err := sb.flatten(t, 1<<20, []it.Entry{it.Dir("d", 0o755), it.File("d/a", 0o644, "x"), it.Hardlink("d/b", "d/a"), it.Symlink("d/l", "a")})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(sb.root, "d/a"))
	b, _ := os.Stat(filepath.Join(sb.root, "d/b"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Fatalf("d/a and d/b are not one inode: %v %v", a, b)
	}
	// The directory's mtime survives the entries written into it later.
	for _, p := range []string{"d", "d/a", "d/l"} {
		fi, err := os.Lstat(filepath.Join(sb.root, p))
		if err != nil || !fi.ModTime().Equal(it.ModTime) {
			t.Errorf("%s: mtime %v, %v; want %v", p, fi.ModTime(), err, it.ModTime)
		}
	}
}

func TestFlattenRefusesEscapes(t *testing.T) {
	tests := []struct {
		name   string
		plant  func(sb *sandbox) error // a symlink already in the tree, as if a checker had been fooled
		layers [][]it.Entry
		want   string // in the error
	}{
		{name: "dot-dot", layers: [][]it.Entry{{it.File("../outside/evil", 0o644, "x")}}, want: `".." component`},
		{name: "dot-dot inside a name", layers: [][]it.Entry{{it.File("a/../../outside/evil", 0o644, "x")}}, want: `".." component`},
		{name: "absolute path", layers: [][]it.Entry{{it.File("/a3s-flatten-escape-test", 0o644, "x")}}, want: "absolute path"},
		{name: "absolute etc path", layers: [][]it.Entry{{it.File("/etc/a3s-flatten-escape-test", 0o644, "x")}}, want: "absolute path"},
		{
			name:   "symlink escaping, then a file through it",
			layers: [][]it.Entry{{it.Symlink("link", "../outside"), it.File("link/evil", 0o644, "x")}},
			want:   `symlink target "../outside"`,
		},
		{
			name: "deep symlink escaping in an earlier layer",
			layers: [][]it.Entry{
				{it.Dir("a/b", 0o755), it.Symlink("a/b/up", "../../../outside")},
				{it.File("a/b/up/evil", 0o644, "x")},
			},
			want: "symlink target",
		},
		{name: "hard link outside", layers: [][]it.Entry{{it.Hardlink("h", "../outside/keep")}}, want: "hard link target"},
		{name: "hard link absolute", layers: [][]it.Entry{{it.Hardlink("h", "/etc/passwd")}}, want: "hard link target"},
		{name: "whiteout of the parent", layers: [][]it.Entry{{it.File(".wh...", 0o644, "")}}, want: "whiteout"},
		{
			name:   "file through a planted symlink",
			plant:  func(sb *sandbox) error { return os.Symlink("../outside", filepath.Join(sb.root, "l")) },
			layers: [][]it.Entry{{it.File("l/evil", 0o644, "x")}},
			want:   "path through a symlink",
		},
		{
			name:   "whiteout through a planted symlink",
			plant:  func(sb *sandbox) error { return os.Symlink("../outside", filepath.Join(sb.root, "l")) },
			layers: [][]it.Entry{{it.File("l/.wh.keep", 0o644, "")}},
			want:   "path through a symlink",
		},
		{
			name:   "opaque whiteout through a planted symlink",
			plant:  func(sb *sandbox) error { return os.Symlink("../outside", filepath.Join(sb.root, "l")) },
			layers: [][]it.Entry{{it.File("l/.wh..wh..opq", 0o644, "")}},
			want:   "path through a symlink",
		},
		{
			name:   "hard link through a planted symlink",
			plant:  func(sb *sandbox) error { return os.Symlink("../outside", filepath.Join(sb.root, "l")) },
			layers: [][]it.Entry{{it.Hardlink("h", "l/keep")}},
			want:   "path through a symlink",
		},
		{
			name:   "symlink chain climbing out",
			plant:  func(sb *sandbox) error { return os.Symlink("..", filepath.Join(sb.root, "up")) },
			layers: [][]it.Entry{{it.File("up/outside/evil", 0o644, "x")}},
			want:   "path through a symlink",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			if tc.plant != nil {
				if err := tc.plant(sb); err != nil {
					t.Fatal(err)
				}
			}
			err := sb.flatten(t, 1<<20, tc.layers...)
			if !errors.Is(err, ErrEscape) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrEscape mentioning %q", err, tc.want)
			}
			sb.intact(t)
			for _, p := range []string{"/a3s-flatten-escape-test", "/etc/a3s-flatten-escape-test"} {
				if _, err := os.Lstat(p); err == nil {
					t.Fatalf("%s was written on the host", p)
				}
			}
		})
	}
}

// A planted symlink with an absolute host path is read as a path inside
// the rootfs, never followed on the host.
func TestFlattenNeverFollowsToHost(t *testing.T) {
	sb := newSandbox(t)
	if err := os.Symlink(sb.outside, filepath.Join(sb.root, "abs")); err != nil {
		t.Fatal(err)
	}
	err := sb.flatten(t, 1<<20, []it.Entry{it.File("abs/.wh.keep", 0o644, ""), it.File("abs/evil", 0o644, "x")})
	if err != nil {
		t.Fatal(err)
	}
	sb.intact(t)
	if b, err := os.ReadFile(filepath.Join(sb.root, sb.outside, "evil")); err != nil || string(b) != "x" {
		t.Fatalf("the file should land under the root at %s: %q, %v", sb.outside, b, err)
	}
}

func TestFlattenLimit(t *testing.T) {
	many := make([]it.Entry, 300)
	for i := range many {
		many[i] = it.File("f"+strconv.Itoa(i), 0o644, "")
	}
	tests := []struct {
		name   string
		limit  int64
		layers [][]it.Entry
	}{
		{"one large file", 64 << 10, [][]it.Entry{{it.File("big", 0o644, strings.Repeat("z", 1<<20))}}},
		{"many empty files", 64 << 10, [][]it.Entry{many}},
		{"spread over layers", 3 << 10, [][]it.Entry{{it.File("a", 0o644, strings.Repeat("a", 1500))}, {it.File("b", 0o644, strings.Repeat("b", 1500))}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			err := sb.flatten(t, tc.limit, tc.layers...)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			sb.intact(t)
		})
	}
}
