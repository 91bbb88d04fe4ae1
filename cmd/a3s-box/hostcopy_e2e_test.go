package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCopyOutPlantsNothing: a box's root makes a setuid-root program, a
// FIFO and a device node; cp out (with and without -a) brings the
// program without its set-id bit and leaves the others in the box,
// naming them.
func TestCopyOutPlantsNothing(t *testing.T) {
	needE2E(t)
	box := "hc-cp"
	t.Cleanup(func() { a3s(t, "rm", "-f", box) })
	ok(t, e2e.root, "run", "-d", "--name", box, e2e.image, "sh", "-c",
		"mkdir /t && echo x > /t/suid && chmod 6755 /t/suid && mkfifo /t/pipe && mknod /t/null c 1 3 && touch /t/ready && exec sleep 600")
	waitFor(t, 60*time.Second, "the box to make its files", func() bool {
		return a3s(t, "exec", box, "test", "-e", "/t/ready").code == 0
	})
	for _, args := range [][]string{{"cp"}, {"cp", "-a"}} {
		dst := filepath.Join(t.TempDir(), "t")
		r := a3s(t, append(args, box+":/t", dst)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		for _, want := range []string{"/t/pipe is a FIFO", "/t/null is a character device"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr %q does not say %q", args, r.stderr, want)
			}
		}
		fi, err := os.Stat(filepath.Join(dst, "suid"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 || fi.Mode().Perm() != 0o755 {
			t.Errorf("%v: the copied program has mode %v; want 0755 without set-id bits", args, fi.Mode())
		}
		for _, name := range []string{"pipe", "null"} {
			if _, err := os.Lstat(filepath.Join(dst, name)); !os.IsNotExist(err) {
				t.Errorf("%v: %s was made on the host (%v)", args, name, err)
			}
		}
	}
}
