package image

import (
	"bytes"
	"context"
	"os"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

// FuzzFlatten feeds arbitrary bytes to the flattener as two stacked
// layers: whatever they hold, nothing may appear outside the root and
// nothing may panic.
func FuzzFlatten(f *testing.F) {
	seeds := [][]it.Entry{
		{it.Dir("a", 0o755), it.File("a/f", 0o644, "x"), it.Hardlink("a/h", "a/f"), it.Symlink("a/l", "f")},
		{it.File("a/.wh.f", 0o644, ""), it.File("a/.wh..wh..opq", 0o644, ""), it.File(".wh...", 0o644, "")},
		{it.Symlink("l", "../outside"), it.File("l/evil", 0o644, "x")},
		{it.Symlink("l", "/"), it.File("l/.wh.x", 0o644, ""), it.File("l/y", 0o644, "y")},
		{it.File("../outside/evil", 0o644, "x"), it.File("/abs", 0o644, "x")},
		{it.Hardlink("h", "../outside/keep"), it.Symlink("s", "a/../../x")},
		{it.Symlink("loop", "loop"), it.File("loop/x", 0o644, "")},
	}
	for _, entries := range seeds {
		b, err := it.Tar(entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("not a tar stream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sb := newSandbox(t)
		fl := newFlattener(sb.root, 1<<20, "fuzz limit")
		for range 2 {
			if err := fl.apply(context.Background(), bytes.NewReader(data)); err != nil {
				break
			}
		}
		_ = fl.finish()
		sb.intact(t)
		if _, err := os.Lstat("/abs"); err == nil {
			t.Fatal("/abs was written on the host")
		}
	})
}

// FuzzLoad feeds arbitrary archives to Load: it may refuse them, never
// panic, and a refused archive leaves no image, name or blob behind.
func FuzzLoad(f *testing.F) {
	ctx := context.Background()
	seed := openStoreF(f)
	rootfs, err := it.Tar([]it.Entry{it.Dir("etc", 0o755), it.File("etc/hostname", 0o644, "box\n")})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := seed.Import(ctx, bytes.NewReader(rootfs), ImportOptions{Ref: "seed:1", Source: "-"}); err != nil {
		f.Fatal(err)
	}
	var saved bytes.Buffer
	if err := seed.Save(ctx, &saved, []string{"seed:1"}); err != nil {
		f.Fatal(err)
	}
	f.Add(saved.Bytes())
	f.Add(saved.Bytes()[:saved.Len()/2])
	f.Add([]byte("not a tar stream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := s.Load(ctx, bytes.NewReader(data))
		if err != nil {
			if entries, _ := os.ReadDir(s.path("blobs", "sha256")); len(entries) != 0 {
				t.Fatalf("a refused archive left %d blobs", len(entries))
			}
			return
		}
		for _, n := range loaded.Names {
			if _, err := s.Get(ctx, n); err != nil {
				t.Fatalf("loaded %s, then: %v", n, err)
			}
		}
	})
}

func openStoreF(f *testing.F) *Store {
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	return s
}
