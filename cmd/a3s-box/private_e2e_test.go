package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStateRootIsPrivate drives every kind of state a3s-box keeps (a
// stack with environment values, a volume, a network, boxes run and
// created, an exec, a copy, a commit) and then walks the root: every
// file and folder is its owner's alone. A root made world-readable (as
// older versions made it) is closed by the next command.
func TestStateRootIsPrivate(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	file := filepath.Join(t.TempDir(), "priv.yaml")
	writeStack(t, file, `name: priv
boxes:
  app:
    image: IMAGE
    command: ["sleep", "600"]
    environment:
      API_TOKEN: s3cret
    volumes:
      - data:/data
    networks: [back]
volumes:
  data: {}
networks:
  back: {}
`)
	t.Cleanup(func() { a3sIn(t, root, "delete", "priv") })
	ok(t, root, "apply", "-f", file)
	ok(t, root, "network", "create", "privnet")
	ok(t, root, "run", "-d", "--name", "priv-run", "-e", "PASSWORD=hunter2", "-p", "127.0.0.1::80", "--network", "privnet", e2e.image, "sleep", "600")
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", "priv-run", "priv-created") })
	ok(t, root, "create", "--name", "priv-created", "-e", "KEY=v", e2e.image, "true")
	src := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(src, []byte("in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, root, "cp", src, "priv-run:/root/in.txt")
	ok(t, root, "exec", "priv-run", "cat", "/root/in.txt")
	ok(t, root, "commit", "priv-run", "priv/committed:1")

	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	ok(t, root, "ps", "-a")

	euid := uint32(os.Geteuid())
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if guestFacing(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		checked++
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != euid {
			t.Errorf("%s: owned by uid %d, want %d", rel, st.Uid, euid)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v: group or others may use it", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 30 {
		t.Fatalf("checked only %d paths under the root: the walk missed the state", checked)
	}
	t.Logf("checked %d paths", checked)
}

// guestFacing is what a box's guest reads and writes through its share
// or a volume mount: its permissions are the guest's, as in Docker.
func guestFacing(rel string) bool {
	parts := strings.Split(rel, string(filepath.Separator))
	switch {
	case len(parts) >= 3 && parts[0] == "volumes" && parts[2] == "_data":
		return true
	case len(parts) >= 3 && parts[0] == "run" && parts[2] == "share":
		return true
	}
	return false
}
