package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

func TestExtract(t *testing.T) {
	tree := []it.Entry{
		it.Dir("d", 0o750), it.File("d/f", 0o640, "f"), it.Symlink("d/up", "../../../etc/passwd"),
		it.Symlink("d/abs", "/etc/passwd"), it.Hardlink("d/h", "d/f"), it.File("d/.wh.kept", 0o644, "w"),
		it.Dir("d/sub", 0o755).Owned(1000, 1000),
	}
	tests := []struct {
		name    string
		entries []it.Entry
		opts    ExtractOptions
		want    map[string]string // path -> content, "dir", or "-> target"
		err     error
		errText string
	}{
		{name: "directory item", entries: tree, opts: ExtractOptions{Item: "d"},
			want: map[string]string{"f": "f", "h": "f", "up": "-> ../../../etc/passwd", "abs": "-> /etc/passwd", ".wh.kept": "w", "sub": "dir"}},
		{name: "file renamed", entries: []it.Entry{it.File("f", 0o644, "x")}, opts: ExtractOptions{Item: "f", As: "g"},
			want: map[string]string{"g": "x"}},
		{name: "contents", entries: tree, opts: ExtractOptions{Item: "d", Contents: true},
			want: map[string]string{"f": "f", "sub": "dir"}},
		{name: "second item", entries: []it.Entry{it.File("f", 0o644, "x"), it.File("g", 0o644, "y")}, opts: ExtractOptions{Item: "f", As: "f"},
			err: ErrForeignEntry},
		{name: "dot-dot", entries: []it.Entry{it.Dir("d", 0o755), it.File("d/../../x", 0o644, "x")}, opts: ExtractOptions{Item: "d"},
			err: ErrEscape},
		{name: "through a planted link", entries: []it.Entry{it.Dir("d", 0o755), it.Symlink("d/l", "../.."), it.File("d/l/x", 0o644, "x")},
			opts: ExtractOptions{Item: "d"}, err: ErrEscape},
		{name: "hard link out", entries: []it.Entry{it.Dir("d", 0o755), it.Hardlink("d/h", "d/../../outside/keep")},
			opts: ExtractOptions{Item: "d"}, err: ErrEscape},
		{name: "file over a directory", entries: []it.Entry{it.Dir("d", 0o755), it.Dir("d/x", 0o755), it.File("d/x", 0o644, "x")},
			opts: ExtractOptions{Item: "d"}, errText: "cannot overwrite a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t)
			b, err := it.Tar(tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			err = Extract(context.Background(), bytes.NewReader(b), sb.root, tt.opts)
			sb.intact(t)
			switch {
			case tt.err != nil || tt.errText != "":
				if (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(errString(err), tt.errText) {
					t.Fatalf("err = %v, want %v %q", err, tt.err, tt.errText)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for p, want := range tt.want {
				full := filepath.Join(sb.root, p)
				fi, err := os.Lstat(full)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				got := ""
				switch {
				case fi.IsDir():
					got = "dir"
				case fi.Mode()&os.ModeSymlink != 0:
					l, _ := os.Readlink(full)
					got = "-> " + l
				default:
					c, _ := os.ReadFile(full)
					got = string(c)
				}
				if got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestExtractOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b, err := it.Tar([]it.Entry{it.File("f", 0o644, "x").Owned(1234, 4321)})
	if err != nil {
		t.Fatal(err)
	}
	for _, owners := range []bool{false, true} {
		dir := t.TempDir()
		if err := Extract(context.Background(), bytes.NewReader(b), dir, ExtractOptions{Item: "f", As: "f", Owners: owners}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(dir, "f"))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		want := uint32(0)
		if owners {
			want = 1234
		}
		if st.Uid != want {
			t.Fatalf("owners %v: owned by %d, want %d", owners, st.Uid, want)
		}
	}
}

// FuzzExtract feeds arbitrary bytes to cp's extraction, as a directory
// item and as contents: nothing may appear outside the destination and
// nothing may panic.
func FuzzExtract(f *testing.F) {
	seeds := [][]it.Entry{
		{it.Dir("d", 0o755), it.File("d/f", 0o644, "x"), it.Hardlink("d/h", "d/f"), it.Symlink("d/l", "../../x")},
		{it.Dir("d", 0o755), it.Symlink("d/l", "/"), it.File("d/l/etc/x", 0o644, "x")},
		{it.File("d/../../outside/evil", 0o644, "x"), it.File("/abs", 0o644, "x")},
		{it.Hardlink("d/h", "d/../outside/keep"), it.File("other", 0o644, "x")},
	}
	for _, entries := range seeds {
		b, err := it.Tar(entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte("not a tar stream"), false)
	f.Fuzz(func(t *testing.T, data []byte, contents bool) {
		sb := newSandbox(t)
		_ = Extract(context.Background(), bytes.NewReader(data), sb.root, ExtractOptions{Item: "d", Contents: contents})
		sb.intact(t)
		if _, err := os.Lstat("/abs"); err == nil {
			t.Fatal("/abs was written on the host")
		}
	})
}

func TestCommitConfig(t *testing.T) {
	box := v1.Config{
		Cmd: []string{"sh"}, Entrypoint: []string{"/init"}, Env: []string{"PATH=/bin", "A=box"},
		Labels: map[string]string{"from": "box"}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
		WorkingDir: "/srv", User: "app", StopSignal: "SIGINT",
	}
	tests := []struct {
		name    string
		changes []string
		want    v1.Config
	}{
		{"no changes", nil, box},
		{"cmd and env", []string{`CMD ["run"]`, "ENV A=new B=b"}, v1.Config{
			Cmd: []string{"run"}, Entrypoint: []string{"/init"}, Env: []string{"A=new", "B=b", "PATH=/bin"},
			Labels: map[string]string{"from": "box"}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
			WorkingDir: "/srv", User: "app", StopSignal: "SIGINT",
		}},
		{"entrypoint drops the box's cmd", []string{`ENTRYPOINT ["/x"]`, "EXPOSE 53/udp", "LABEL k=v", "ONBUILD RUN true"}, v1.Config{
			Entrypoint: []string{"/x"}, Env: []string{"PATH=/bin", "A=box"},
			Labels: map[string]string{"from": "box", "k": "v"}, ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
			WorkingDir: "/srv", User: "app", StopSignal: "SIGINT", OnBuild: []string{"RUN true"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CommitConfig(box, tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"RUN make", "ONBUILD FROM x", "FROM busybox", "CMD"} {
		if _, err := CommitConfig(box, []string{bad}); err == nil {
			t.Errorf("change %q accepted", bad)
		}
	}
}

// TestCommit stacks a layer with a whiteout, an opaque directory and a new
// file on the busybox image and flattens the result.
func TestCommit(t *testing.T) {
	s, ref := pulled(t)
	ctx := context.Background()
	base := mustGet(t, s, ref)
	layer, err := it.Tar([]it.Entry{
		it.Dir("bin", 0o755), it.File("bin/.wh.notexec", 0o600, ""),
		it.Dir("etc", 0o755), it.File("etc/.wh..wh..opq", 0o600, ""), it.File("etc/only", 0o644, "only"),
		it.File("new", 0o644, "new"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := CommitConfig(base.Config, []string{`CMD ["cat", "/new"]`})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Commit(ctx, base, bytes.NewReader(layer), CommitOptions{Ref: "committed:1", Config: cfg, Author: "me", Comment: "msg", CreatedBy: "sh", Container: "box1"})
	if err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, "committed:1")
	if got.ID != img.ID || len(got.Manifest.Layers) != len(base.Manifest.Layers)+1 || len(got.File.RootFS.DiffIDs) != len(base.File.RootFS.DiffIDs)+1 {
		t.Fatalf("committed image %+v", got.Manifest)
	}
	last := got.File.History[len(got.File.History)-1]
	if got.File.Author != "me" || last.Comment != "msg" || last.CreatedBy != "sh" || got.File.Container != "box1" ||
		strings.Join(got.Config.Cmd, " ") != "cat /new" {
		t.Fatalf("config %+v history %+v", got.File, last)
	}
	dir := t.TempDir()
	if err := s.flatten(ctx, got, dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"bin/busybox": true, "bin/notexec": false, "etc/passwd": false, "etc/only": true, "new": true} {
		if _, err := os.Lstat(filepath.Join(dir, p)); (err == nil) != want {
			t.Errorf("%s present = %v, want %v", p, err == nil, want)
		}
	}
	if _, err := s.Commit(ctx, base, bytes.NewReader(layer), CommitOptions{Ref: "x@sha256:" + strings.Repeat("a", 64)}); err == nil {
		t.Fatal("a digest was accepted as a name")
	}
	bad, _ := it.Tar([]it.Entry{it.File("../escape", 0o644, "x")})
	before := blobCount(t, s)
	if _, err := s.Commit(ctx, base, bytes.NewReader(bad), CommitOptions{Ref: "bad:1", Config: cfg}); !errors.Is(err, ErrEscape) {
		t.Fatalf("escaping layer: %v", err)
	}
	if blobCount(t, s) != before {
		t.Fatal("a failed commit left blobs")
	}
}

// TestExtractPlantsNothingDangerous: what a box hands the host (cp out)
// never becomes a set-id file or a device node there, with or without
// -a's owners; the device nodes and FIFOs left behind are named.
func TestExtractPlantsNothingDangerous(t *testing.T) {
	entries := []it.Entry{
		it.Dir("d", 0o755),
		it.File("d/suid", 0o4755, "x").Owned(0, 0),
		it.File("d/sgid", 0o2755, "x").Owned(0, 0),
		{Header: tar.Header{Typeflag: tar.TypeReg, Name: "d/capped", Mode: 0o755, ModTime: it.ModTime, Size: 1,
			PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}}, Body: "x"},
		it.Dir("d/shared", 0o3777),
		{Header: tar.Header{Typeflag: tar.TypeChar, Name: "d/mem", Mode: 0o666, Devmajor: 1, Devminor: 1, ModTime: it.ModTime}},
		{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "d/disk", Mode: 0o666, Devmajor: 8, Devminor: 0, ModTime: it.ModTime}},
		{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "d/pipe", Mode: 0o666, ModTime: it.ModTime}},
		it.Hardlink("d/pipe2", "d/pipe"),
	}
	for _, owners := range []bool{false, true} {
		sb := newSandbox(t)
		b, err := it.Tar(entries)
		if err != nil {
			t.Fatal(err)
		}
		skipped := map[string]string{}
		o := ExtractOptions{Item: "d", Owners: owners, Skipped: func(name, kind string) { skipped[name] = kind }}
		if err := Extract(context.Background(), bytes.NewReader(b), sb.root, o); err != nil {
			t.Fatalf("owners %v: %v", owners, err)
		}
		sb.intact(t)
		for _, name := range []string{"suid", "sgid", "shared"} {
			fi, err := os.Lstat(filepath.Join(sb.root, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
				t.Errorf("owners %v: %s kept a set-id bit: %v", owners, name, fi.Mode())
			}
		}
		if n, err := unix.Lgetxattr(filepath.Join(sb.root, "capped"), "security.capability", make([]byte, 64)); err == nil {
			t.Errorf("owners %v: capped kept its file capabilities (%d bytes)", owners, n)
		}
		if fi, _ := os.Lstat(filepath.Join(sb.root, "shared")); fi.Mode()&os.ModeSticky == 0 {
			t.Errorf("owners %v: the sticky bit went too: %v", owners, fi.Mode())
		}
		for _, name := range []string{"mem", "disk", "pipe", "pipe2"} {
			if _, err := os.Lstat(filepath.Join(sb.root, name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("owners %v: %s was made on the host (%v)", owners, name, err)
			}
		}
		want := map[string]string{"d/mem": "character device", "d/disk": "block device", "d/pipe": "FIFO", "d/pipe2": "FIFO"}
		if !reflect.DeepEqual(skipped, want) {
			t.Errorf("owners %v: skipped %v, want %v", owners, skipped, want)
		}
	}
}
