package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shareNames lists box id's share directory on the host and its spool.
func shareNames(t *testing.T, root, id string) (top, spool []string) {
	t.Helper()
	dir := filepath.Join(root, "run", id[:12], "share")
	list := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		return names
	}
	return list(dir), list(filepath.Join(dir, ".spool"))
}

// TestHostileShareFill has a guest root fill its share, on a root whose
// file system is small: names it adds to the share's root and its spool
// go within seconds, and a file it goes on writing never takes the
// host's free space far below the reserve a3s-box keeps; the box still
// answers afterwards.
func TestHostileShareFill(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	if err := unix.Mount("a3s-sharefill", root, "tmpfs", 0, "size=1024m,mode=0700"); err != nil {
		t.Fatalf("mount a small file system for the root: %v", err)
	}
	t.Cleanup(func() {
		a3sIn(t, root, "rm", "-f", "fill-box")
		_ = unix.Unmount(root, unix.MNT_DETACH)
	})
	// A bind mount gives the VMM the capabilities to write the share's
	// root too.
	ok(t, root, "run", "-d", "--privileged", "--name", "fill-box", "-v", t.TempDir()+":/data", e2e.image, "sleep", "600")
	id := strings.TrimSpace(ok(t, root, "inspect", "--format", "{{.Id}}", "fill-box"))

	ok(t, root, "exec", "fill-box", "sh", "-c", mountShare+` && cd $S && (echo x > junkroot; mkdir -p junkdir/a; echo x > junkdir/a/f) 2>/dev/null;
		mkdir -p .spool/tree/b && dd if=/dev/zero of=.spool/tree/b/f bs=1M count=8 2>/dev/null && dd if=/dev/zero of=.spool/junk bs=1M count=8 2>/dev/null; echo done`)
	waitFor(t, 10*time.Second, "the guest's names gone from the share", func() bool {
		top, spool := shareNames(t, root, id)
		return strings.Join(top, " ") == ".spool m0" && len(spool) == 0
	})

	// A writer that does not stop: 1.5 GiB into a 1 GiB file system.
	freeNow := func() int64 {
		var st unix.Statfs_t
		if err := unix.Statfs(root, &st); err != nil {
			panic(err)
		}
		return int64(st.Bavail) * st.Bsize
	}
	start := freeNow()
	ok(t, root, "exec", "-d", "fill-box", "sh", "-c", mountShare+` && timeout 90 dd if=/dev/zero of=$S/.spool/flood bs=1M count=1536; touch /tmp/flood.done`)
	least := start
	done := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		m := start
		for {
			select {
			case <-done:
				sampled <- m
				return
			case <-time.After(50 * time.Millisecond):
				m = min(m, freeNow())
			}
		}
	}()
	waitFor(t, 100*time.Second, "the flood to end", func() bool {
		time.Sleep(time.Second)
		return a3sIn(t, root, "exec", "fill-box", "test", "-e", "/tmp/flood.done").code == 0
	})
	close(done)
	least = <-sampled
	t.Logf("free space: %d MiB before the flood, %d MiB at the least", start>>20, least>>20)
	if b, err := os.ReadFile(filepath.Join(root, "boxes", id, "supervisor.log")); err != nil || !strings.Contains(string(b), "emptied") {
		t.Errorf("the supervisor's log does not say it emptied the share: %q (%v)", b, err)
	}
	if least < 384<<20 {
		t.Fatalf("the guest took the root's file system down to %d MiB free; a3s-box keeps 512 MiB", least>>20)
	}
	if start-least < 200<<20 {
		t.Fatalf("the flood wrote only %d MiB: it did not test the bound", (start-least)>>20)
	}
	if got := ok(t, root, "exec", "fill-box", "echo", "alive"); got != "alive\n" {
		t.Fatalf("the box after the flood: %q", got)
	}
}
