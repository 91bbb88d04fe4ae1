package image

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mkfs must fit every tree in the size measure estimates, without
// wasting much beyond it.
func TestMkfsFitsMeasuredTree(t *testing.T) {
	tests := []struct {
		name  string
		build func(dir string) error
	}{
		{"empty", func(string) error { return nil }},
		{"many small files", func(dir string) error {
			for i := range 3000 {
				d := filepath.Join(dir, "d"+strconv.Itoa(i%30))
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(d, "file-with-a-longish-name-"+strconv.Itoa(i)), []byte("x"), 0o644); err != nil {
					return err
				}
			}
			return nil
		}},
		{"large files, hard links and long symlinks", func(dir string) error {
			big := []byte(strings.Repeat("z", 24<<20))
			for _, n := range []string{"a", "b"} {
				if err := os.WriteFile(filepath.Join(dir, n), big, 0o644); err != nil {
					return err
				}
			}
			if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "a2")); err != nil {
				return err
			}
			return os.Symlink(strings.Repeat("long/", 40), filepath.Join(dir, "l"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, "tree")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.build(dir); err != nil {
				t.Fatal(err)
			}
			fp, err := measure(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(work, "fs.ext4")
			start := time.Now()
			if err := mkfs(context.Background(), dir, out, fp); err != nil {
				t.Fatal(err)
			}
			t.Logf("mkfs.ext4 took %v", time.Since(start))
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			// The first attempt fitted: a retry doubles the size.
			if want, _ := fp.size(); fi.Size() != want {
				t.Fatalf("image is %d bytes, estimate %d: the estimate was short", fi.Size(), want)
			}
			checkExt4(t, out, map[string]string{"stats": "Filesystem state:         clean"})
		})
	}
}
