package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mountShare is the guest commands that reach the box's 9p share, as a
// guest root that does not trust guestinit can (a box run --privileged,
// as any box may be): mounting it at /mnt, or
// (a 9p device takes one mount at a time) through guestinit's own
// descriptor of it. $S is where it is.
const mountShare = "S=; mkdir -p /mnt; if mount -t 9p -o trans=virtio,version=9p2000.L a3s-share /mnt 2>/dev/null; then S=/mnt; " +
	"else for p in /proc/[0-9]*/fd/*; do [ -d $p/.spool ] && S=$p && break; done; fi; echo share at $S; [ -n \"$S\" ]"

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
	// A file the host makes there and removes again is caught too.
	watch, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	must(err)
	defer unix.Close(watch)
	_, err = unix.InotifyAddWatch(watch, host, unix.IN_CREATE|unix.IN_DELETE|unix.IN_MODIFY|unix.IN_MOVED_TO)
	must(err)
	untouched := func(when string) {
		t.Helper()
		names, err := os.ReadDir(host)
		must(err)
		if len(names) != 1 || names[0].Name() != "keep" {
			t.Fatalf("%s: the host directory was written through the share: %v", when, names)
		}
		var buf [4096]byte
		if n, _ := unix.Read(watch, buf[:]); n > 0 {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
			name := strings.TrimRight(string(buf[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+ev.Len]), "\x00")
			t.Fatalf("%s: the host changed %q in the host directory through the share (inotify mask %#x)", when, name, ev.Mask)
		}
	}

	// With a bind mount the VMM has CAP_DAC_OVERRIDE, so the guest can
	// change the share's root too.
	ok(t, e2e.root, "run", "-d", "--privileged", "--name", box, "-v", t.TempDir()+":/data", e2e.image, "sleep", "600")
	attack := mountShare + " && cd $S && " +
		// Each step may be refused (the share root is the host's); what
		// the guest manages is its own business.
		"(mv .spool old; ln -s " + host + " .spool; rm -rf m1; ln -s " + host + " m1; mkdir -p junk/a/b) 2>/dev/null;" +
		"s=$S/.spool; [ -L $s ] && s=$S/old;" +
		"mkdir -p $s/junk/in && touch $s/junk/in/f && chmod 0 $s/junk/in $s/junk;" +
		"ln -s " + host + " $s/link; ln -s " + host + "/keep $s/flink; mkfifo $s/fifo;" +
		// The share takes one mount at a time: guestinit's comes next.
		"cd / && umount /mnt 2>/dev/null; echo done"
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
	// A guest that appends to every spool file while the host reads,
	// through guestinit's own descriptor of the share: an export (the
	// spool's tar copied as it is) stops at what the guest announced.
	plain := filepath.Join(t.TempDir(), "plain.tar")
	ok(t, e2e.root, "export", "-o", plain, box)
	ok(t, e2e.root, "exec", "-d", box, "sh", "-c", "while :; do for f in /proc/[0-9]*/fd/*/.spool/tar-*; do [ -f $f ] && head -c 1048576 /dev/zero >> $f; done; done")
	grown := filepath.Join(t.TempDir(), "grown.tar")
	ok(t, e2e.root, "export", "-o", grown, box)
	pf, err := os.Stat(plain)
	must(err)
	gf, err := os.Stat(grown)
	must(err)
	t.Logf("export: %d bytes, %d while the guest appended", pf.Size(), gf.Size())
	if gf.Size() > pf.Size()+64<<20 {
		t.Fatalf("the host read %d bytes of a growing spool file", gf.Size())
	}
}
