package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	"golang.org/x/sys/unix"
)

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestArchiveBounds: load and import stop a decompression bomb at the
// bound a pulled layer's extraction has, and leave nothing stored.
func TestArchiveBounds(t *testing.T) {
	bomb, err := it.Tar([]it.Entry{it.File("zeros", 0o644, strings.Repeat("\x00", 4<<20))})
	if err != nil {
		t.Fatal(err)
	}
	small, err := it.Tar([]it.Entry{it.File("etc/hostname", 0o644, "box\n")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		verb    func(*Store, []byte) error
		archive []byte
		limit   int64
		want    error
	}{
		{"import gzip bomb", importVerb, gzipped(t, bomb), 1 << 20, ErrTooLarge},
		{"import plain tar over the bound", importVerb, bomb, 1 << 20, ErrTooLarge},
		{"import under the bound", importVerb, gzipped(t, small), 1 << 20, nil},
		{"load gzip bomb", loadVerb, gzipped(t, bomb), 1 << 20, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			s.MaxExtractBytes = tc.limit
			err := tc.verb(s, tc.archive)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil && !strings.Contains(err.Error(), "extraction limit of 1 MiB") {
				t.Fatalf("err = %v, want the bound named", err)
			}
		})
	}
}

func importVerb(s *Store, b []byte) error {
	_, err := s.Import(context.Background(), bytes.NewReader(b), ImportOptions{Ref: "bomb:1", Source: "-"})
	return err
}

func loadVerb(s *Store, b []byte) error {
	_, err := s.Load(context.Background(), bytes.NewReader(b))
	return err
}

// TestBudgetBelowFreeDisk: the bound never reaches all free disk.
func TestBudgetBelowFreeDisk(t *testing.T) {
	s := openStore(t, t.TempDir())
	s.MaxExtractBytes = 1 << 62
	budget, why, err := s.extractBudget()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(why, "less than 512 MiB of disk free") {
		t.Fatalf("why = %q", why)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.path(tmpDir), &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	if budget > free-MinFreeBytes {
		t.Fatalf("budget %d leaves less than %d of the %d free", budget, MinFreeBytes, free)
	}
}

// FuzzImport feeds import arbitrary archives, compressed or not, under a
// small bound: it refuses or imports, never writes past the bound, and a
// refused archive leaves no blob.
func FuzzImport(f *testing.F) {
	small, err := it.Tar([]it.Entry{it.Dir("etc", 0o755), it.File("etc/hostname", 0o644, "box\n")})
	if err != nil {
		f.Fatal(err)
	}
	bomb, err := it.Tar([]it.Entry{it.File("zeros", 0o644, strings.Repeat("\x00", 256<<10))})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(gzipped(f, small))
	f.Add(gzipped(f, bomb))
	f.Add([]byte("BZh9"))
	f.Add([]byte("not a tar stream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.MaxExtractBytes = 64 << 10
		_, err = s.Import(context.Background(), bytes.NewReader(data), ImportOptions{Ref: "fuzz:1", Source: "-"})
		if err == nil {
			return
		}
		if entries, _ := os.ReadDir(s.path("blobs", "sha256")); len(entries) != 0 {
			t.Fatalf("a refused archive left %d blobs: %v", len(entries), err)
		}
	})
}
