package main

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
)

// fill writes a file on path's filesystem until it is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestFullDisk fills the state root's filesystem and checks that pull,
// commit and cp fail with a message about space, change nothing (no
// half-written image listed, every state file readable, the box still
// answering), and all work once there is room again.
func TestFullDisk(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	if err := unix.Mount("a3s-fulldisk", root, "tmpfs", 0, "size=1536m,mode=0700"); err != nil {
		t.Fatalf("mount a small file system for the root: %v", err)
	}
	t.Cleanup(func() {
		a3sIn(t, root, "rm", "-f", "fd-box")
		_ = unix.Unmount(root, unix.MNT_DETACH)
	})
	base, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 16<<20)
	rand.Read(blob)
	big, err := imagetest.Extend(base, v1.Config{}, imagetest.File("blob", 0o644, string(blob)))
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := imagetest.Serve(map[string]v1.Image{"test/big:1": big})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ref := addr + "/test/big:1"

	ok(t, root, "run", "-d", "--name", "fd-box", e2e.image, "sleep", "600")
	// Nothing of the box's own waits to be written back when the disk
	// fills: its VMM would pause the VM on a write it cannot place.
	ok(t, root, "exec", "fd-box", "sh", "-c", "echo hello > /root/f; sync")
	local := filepath.Join(t.TempDir(), "local")
	if err := os.WriteFile(local, blob[:4<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(root, "filler")
	fill(t, filler)

	f := &faultRig{t: t, root: root}
	space := regexp.MustCompile(`(?i)no space left|free space|disk`)
	for _, c := range []struct {
		what string
		args []string
	}{
		{"pull", []string{"pull", ref}},
		{"commit", []string{"commit", "fd-box", "fd/commit:1"}},
		{"cp into the box", []string{"cp", local, "fd-box:/root/local"}},
	} {
		f.fault()
		r := a3sIn(t, root, c.args...)
		if r.code == 0 || !space.MatchString(r.stderr) {
			t.Errorf("%s on a full disk: exit %d, stderr %q; want a failure about space", c.what, r.code, r.stderr)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 2 {
			t.Errorf("%s on a full disk: %d lines of errors: %q", c.what, n+1, r.stderr)
		}
		images := a3sIn(t, root, "images", "--format", "{{.Repository}}:{{.Tag}}")
		if strings.Contains(images.stdout, "test/big") || strings.Contains(images.stdout, "fd/commit") {
			t.Errorf("after %s on a full disk, images lists %q", c.what, images.stdout)
		}
		if got := strings.TrimSpace(ok(t, root, "exec", "fd-box", "cat", "/root/f")); got != "hello" {
			t.Errorf("after %s on a full disk the box reads %q", c.what, got)
		}
		f.intactNoVolume(c.what + " on a full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ok(t, root, "pull", ref)
	ok(t, root, "commit", "fd-box", "fd/commit:1")
	ok(t, root, "run", "--rm", "fd/commit:1", "cat", "/root/f")
	ok(t, root, "cp", local, "fd-box:/root/local")
	if got := strings.TrimSpace(ok(t, root, "exec", "fd-box", "stat", "-c", "%s", "/root/local")); got != "4194304" {
		t.Errorf("cp after the disk had room: %s bytes in the box", got)
	}
	t.Logf("full-disk faults injected: %d, survived: %d", f.injected, f.survived)
}
