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
