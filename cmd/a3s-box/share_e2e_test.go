package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mountShare is the guest commands that mount the box's 9p share at
// /mnt, as a guest root that does not trust guestinit can.
const mountShare = "mkdir -p /mnt && mount -t 9p -o trans=virtio,version=9p2000.L a3s-share /mnt"

// TestHostileShare has a box's root attack its own share: replace the
// spool directory and the other entries with links to a host directory,
// leave trees, unreadable directories and fifos, and grow spool files
// while the host reads them. Nothing may be written in the host
// directory, a cp must succeed or fail with one clear line, the next
// start must clear what was left, and the host must read no more of a
// spool file than the guest announced.
func TestHostileShare(t *testing.T) {
	needE2E(t)
	box := "share-hostile"
	t.Cleanup(func() { a3s(t, "rm", "-f", box) })
	host := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(host, "keep"), []byte("host"), 0o644))
	src := filepath.Join(t.TempDir(), "payload")
	must(os.WriteFile(src, []byte("payload\n"), 0o644))
	untouched := func(when string) {
		t.Helper()
		names, err := os.ReadDir(host)
		must(err)
		if len(names) != 1 || names[0].Name() != "keep" {
			t.Fatalf("%s: the host directory was written through the share: %v", when, names)
		}
	}

	ok(t, e2e.root, "run", "-d", "--name", box, e2e.image, "sleep", "600")
	attack := mountShare + " && cd /mnt && " +
		// Each step may be refused (the share root is the host's); what
		// the guest manages is its own business.
		"(mv .spool old; ln -s " + host + " .spool; ln -s " + host + " m0; mkdir -p junk/a/b) 2>/dev/null;" +
		"s=/mnt/.spool; [ -L $s ] && s=/mnt/old;" +
		"mkdir -p $s/junk/in && touch $s/junk/in/f && chmod 0 $s/junk/in $s/junk;" +
		"ln -s " + host + " $s/link; ln -s " + host + "/keep $s/flink; mkfifo $s/fifo;" +
		// The share takes one mount at a time: guestinit's comes next.
		"cd / && umount /mnt && echo done"
	if out := ok(t, e2e.root, "exec", box, "sh", "-c", attack); !strings.Contains(out, "done") {
		t.Fatalf("attack did not run: %q", out)
	}

	r := a3s(t, "cp", src, box+":/root/")
	untouched("cp into the box")
	t.Logf("cp into the box: exit %d %s", r.code, strings.TrimSpace(r.stderr))
	if r.code == 0 {
		if got := ok(t, e2e.root, "exec", box, "cat", "/root/payload"); got != "payload\n" {
			t.Errorf("cp succeeded but the box has %q", got)
		}
	} else {
		failsWith(t, r, 1, "share")
	}

	// A guest that appends to every spool file while the host reads,
	// through guestinit's own descriptor of the share.
	ok(t, e2e.root, "exec", "-d", box, "sh", "-c", "while :; do for f in /proc/[0-9]*/fd/*/.spool/tar-* /proc/[0-9]*/fd/*/old/tar-*; do [ -f $f ] && head -c 262144 /dev/zero >> $f; done; done")
	for i := 0; i < 3; i++ {
		r = a3s(t, "cp", box+":/etc/passwd", "-")
		untouched("cp out of the box")
		if r.code != 0 {
			failsWith(t, r, 1, "box "+box)
			continue
		}
		// The tar of one small file, and what the guest appended before
		// it said the tar was whole; never what it appends after.
		t.Logf("copied out a %d-byte tar while the guest appended", len(r.stdout))
		if len(r.stdout) > 16<<20 {
			t.Fatalf("the host read %d bytes of a growing spool file", len(r.stdout))
		}
	}

	ok(t, e2e.root, "stop", "-t", "1", box)
	untouched("stop")
	start := time.Now()
	ok(t, e2e.root, "start", box)
	t.Logf("restarted in %v", time.Since(start))
	untouched("start")
	ok(t, e2e.root, "exec", box, "true")
	ok(t, e2e.root, "cp", src, box+":/root/again")
	if got := ok(t, e2e.root, "exec", box, "cat", "/root/again"); got != "payload\n" {
		t.Errorf("after the restart the box has %q", got)
	}
	untouched("cp after the restart")
}
