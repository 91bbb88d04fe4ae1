package runtime

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// hostDir is a directory outside the share holding one file, which no
// share operation may touch or add to.
func hostDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "keep"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func assertHostDirUntouched(t *testing.T, d string) {
	t.Helper()
	names, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Name() != "keep" {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Fatalf("host directory changed through the share: %v", got)
	}
}

// TestClearShareLeftovers checks that whatever a guest leaves in its
// share goes at the next clear, and that no link is followed.
func TestClearShareLeftovers(t *testing.T) {
	for _, c := range []struct {
		name  string
		leave func(t *testing.T, share, host string)
	}{
		{"directory tree in the root", func(t *testing.T, share, _ string) {
			must(t, os.MkdirAll(filepath.Join(share, "junk", "a", "b"), 0o755))
			must(t, os.WriteFile(filepath.Join(share, "junk", "a", "b", "f"), []byte("x"), 0o644))
		}},
		{"unreadable directory", func(t *testing.T, share, _ string) {
			must(t, os.MkdirAll(filepath.Join(share, "locked", "in"), 0o755))
			must(t, os.WriteFile(filepath.Join(share, "locked", "in", "f"), nil, 0o644))
			must(t, os.Chmod(filepath.Join(share, "locked", "in"), 0))
			must(t, os.Chmod(filepath.Join(share, "locked"), 0))
		}},
		{"spool replaced by a link", func(t *testing.T, share, host string) {
			must(t, os.RemoveAll(filepath.Join(share, proto.SpoolDir)))
			must(t, os.Symlink(host, filepath.Join(share, proto.SpoolDir)))
		}},
		{"links in the root and the spool", func(t *testing.T, share, host string) {
			must(t, os.Symlink(host, filepath.Join(share, "m0")))
			must(t, os.Symlink(host, filepath.Join(share, proto.SpoolDir, "tar-0")))
			must(t, os.Symlink(filepath.Join(host, "keep"), filepath.Join(share, proto.SpoolDir, "tar-1")))
		}},
		{"fifo and socket-like leftovers", func(t *testing.T, share, _ string) {
			must(t, unix.Mkfifo(filepath.Join(share, "fifo"), 0o644))
			must(t, unix.Mkfifo(filepath.Join(share, proto.SpoolDir, "fifo"), 0o644))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			share := filepath.Join(t.TempDir(), "share")
			host := hostDir(t)
			must(t, makeSpool(share))
			c.leave(t, share, host)
			if err := clearShare(share); err != nil {
				t.Fatalf("clearShare: %v", err)
			}
			assertHostDirUntouched(t, host)
			if names, _ := os.ReadDir(share); len(names) != 0 {
				t.Fatalf("share not empty after clear: %v", names)
			}
			// The next boot's share is made as usual.
			must(t, makeSpool(share))
			must(t, giveSpool(share, nil))
		})
	}
}

// TestSpoolRefusesLinks checks that a spool directory the guest replaced
// with a link to a host directory is refused, not written through.
func TestSpoolRefusesLinks(t *testing.T) {
	share := filepath.Join(t.TempDir(), "share")
	host := hostDir(t)
	must(t, makeSpool(share))
	must(t, os.Remove(filepath.Join(share, proto.SpoolDir)))
	must(t, os.Symlink(host, filepath.Join(share, proto.SpoolDir)))
	if _, err := hasSpool(share); err == nil {
		t.Error("hasSpool accepted a linked spool directory")
	}
	if sp, err := newSpoolFile(share); err == nil {
		sp.remove()
		t.Error("newSpoolFile made a file through a linked spool directory")
	}
	if err := giveSpool(share, nil); err != nil {
		t.Errorf("giveSpool: %v", err)
	}
	assertHostDirUntouched(t, host)
}

// TestSpoolWrittenIsBounded checks that what the host reads of a spool
// file stops at its size when the guest said it was whole.
func TestSpoolWrittenIsBounded(t *testing.T) {
	share := filepath.Join(t.TempDir(), "share")
	must(t, makeSpool(share))
	sp, err := newSpoolFile(share)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.remove()
	path := filepath.Join(share, proto.SpoolDir, sp.name)
	must(t, os.WriteFile(path, make([]byte, 1000), 0o600))
	rd, err := sp.written()
	if err != nil {
		t.Fatal(err)
	}
	// The guest goes on writing after its answer.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write(make([]byte, 5000))
	must(t, err)
	f.Close()
	n, err := io.Copy(io.Discard, rd)
	must(t, err)
	if n != 1000 {
		t.Fatalf("read %d bytes of the spool file, want the 1000 announced", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
