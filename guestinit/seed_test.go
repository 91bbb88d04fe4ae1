package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSeedCopiesOwnersModesAndLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files owners")
	}
	img, vol := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(img, "sub"), 0o750))
	must(os.WriteFile(filepath.Join(img, "sub", "f"), []byte("seed\n"), 0o640))
	must(os.Lchown(filepath.Join(img, "sub", "f"), 1000, 1001))
	must(os.Chown(filepath.Join(img, "sub"), 1000, 1000))
	must(unix.Chmod(filepath.Join(img, "sub", "f"), 0o4755))
	must(os.Link(filepath.Join(img, "sub", "f"), filepath.Join(img, "hard")))
	must(os.Symlink("sub/f", filepath.Join(img, "link")))
	must(unix.Mkfifo(filepath.Join(img, "fifo"), 0o600))
	must(unix.Mknod(filepath.Join(img, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(img, "sub"), old, old))
	must(os.Chown(img, 1000, 1000))
	must(unix.Chmod(img, 0o1770))

	// What is mounted below the path is not the image's.
	must(os.Mkdir(filepath.Join(img, "mnt"), 0o755))
	must(unix.Mount("tmpfs", filepath.Join(img, "mnt"), "tmpfs", 0, ""))
	t.Cleanup(func() { unix.Unmount(filepath.Join(img, "mnt"), unix.MNT_DETACH) })
	must(os.WriteFile(filepath.Join(img, "mnt", "other"), nil, 0o644))

	must(seed(img, vol))
	if _, err := os.Lstat(filepath.Join(vol, "mnt", "other")); err == nil {
		t.Error("copied a file of another filesystem mounted below")
	}

	check := func(rel string, uid, gid uint32, mode uint32) {
		t.Helper()
		var st unix.Stat_t
		must(unix.Lstat(filepath.Join(vol, rel), &st))
		if st.Uid != uid || st.Gid != gid || st.Mode&0o7777 != mode {
			t.Errorf("%s: %d:%d %o, want %d:%d %o", rel, st.Uid, st.Gid, st.Mode&0o7777, uid, gid, mode)
		}
	}
	check(".", 1000, 1000, 0o1770)
	check("sub", 1000, 1000, 0o750)
	check("sub/f", 1000, 1001, 0o755) // set-id bits never reach the host
	if b, err := os.ReadFile(filepath.Join(vol, "link")); err != nil || string(b) != "seed\n" {
		t.Errorf("symlink: %q %v", b, err)
	}
	a, _ := os.Stat(filepath.Join(vol, "sub", "f"))
	h, _ := os.Stat(filepath.Join(vol, "hard"))
	if !os.SameFile(a, h) {
		t.Error("hard link copied as two files")
	}
	if _, err := os.Lstat(filepath.Join(vol, "null")); err == nil {
		t.Error("a device node reached the volume")
	}
	if fi, err := os.Lstat(filepath.Join(vol, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(vol, "sub")); !fi.ModTime().Equal(old) {
		t.Errorf("sub mtime %s, want %s", fi.ModTime(), old)
	}

	// A volume with data keeps it.
	vol2 := t.TempDir()
	must(os.WriteFile(filepath.Join(vol2, "mine"), nil, 0o644))
	must(seed(img, vol2))
	if entries, _ := os.ReadDir(vol2); len(entries) != 1 {
		t.Errorf("seeded a volume that had data: %v", entries)
	}
	// Nothing at the path in the image: nothing to copy.
	vol3 := t.TempDir()
	must(seed(filepath.Join(img, "missing"), vol3))
	must(seed(filepath.Join(img, "sub", "f"), vol3))
	if entries, _ := os.ReadDir(vol3); len(entries) != 0 {
		t.Errorf("seeded from no directory: %v", entries)
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\134`: `/x\`, `/bad\0`: `/bad\0`} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}
