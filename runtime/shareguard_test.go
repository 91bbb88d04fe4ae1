package runtime

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/vmm"
	"golang.org/x/sys/unix"
)

// TestShareGuard builds a share as a guest would leave it, with a
// process standing in for the VMM that holds files of it open, and runs
// the guard's scans over it.
func TestShareGuard(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	spool := filepath.Join(dir, ".spool")
	for _, d := range []string{spool, filepath.Join(dir, "m0"), filepath.Join(dir, "junkdir", "a"), filepath.Join(spool, "tree", "b")} {
		must(os.MkdirAll(d, 0o755))
	}
	mib := make([]byte, 1<<20)
	for _, f := range []string{"m0/volume-file", "junkroot", "junkdir/a/f", ".spool/junk", ".spool/tree/b/f", ".spool/open", ".spool/tar-held"} {
		must(os.WriteFile(filepath.Join(dir, f), mib, 0o644))
	}
	// A request's spool file, held by a host process as newSpoolFile
	// holds it.
	heldF, err := os.Open(filepath.Join(spool, "tar-held"))
	must(err)
	defer heldF.Close()
	must(unix.Flock(int(heldF.Fd()), unix.LOCK_SH))

	// The stand-in VMM holds a junk file, a request's file and a
	// volume's file open for writing.
	vmmProc := exec.Command("sh", "-c", `exec 3>>"$1/.spool/open" 4>>"$1/.spool/tar-held" 5>>"$1/m0/volume-file"; exec sleep 60`, "sh", dir)
	must(vmmProc.Start())
	defer func() { vmmProc.Process.Kill(); vmmProc.Wait() }()
	waitFDs(t, vmmProc.Process.Pid, 6)

	free := int64(1 << 40)
	g := newShareGuard(&vmm.Share{Dir: dir, Binds: []vmm.ShareBind{{Entry: "m0"}}}, vmmProc.Process.Pid, io.Discard)
	g.free = func() (int64, error) { return free, nil }
	exists := func(f string) bool { _, err := os.Lstat(filepath.Join(dir, f)); return err == nil }
	size := func(f string) int64 {
		fi, err := os.Lstat(filepath.Join(dir, f))
		if err != nil {
			return -1
		}
		return fi.Size()
	}

	g.scan()
	for _, f := range []string{"junkroot", "junkdir"} {
		if exists(f) {
			t.Errorf("after one scan %s, which the host did not make in the share's root, is still there", f)
		}
	}
	for _, f := range []string{".spool/junk", ".spool/tar-held", "m0/volume-file"} {
		if !exists(f) {
			t.Errorf("one scan removed %s: spool names go on the second scan, held ones never", f)
		}
	}
	g.scan()
	for _, f := range []string{".spool/junk", ".spool/tree", ".spool/open"} {
		if exists(f) {
			t.Errorf("after two scans %s, which no host process holds, is still there", f)
		}
	}
	if !exists(".spool/tar-held") || size(".spool/tar-held") != 1<<20 {
		t.Errorf("the held spool file was touched without disk pressure")
	}
	// The junk file's name is gone, but the VMM still holds it: emptied.
	if n := openSize(t, vmmProc.Process.Pid, 3); n != 0 {
		t.Errorf("the removed junk file the VMM holds open keeps %d bytes", n)
	}

	// The disk nearly full: every share file the VMM holds is emptied,
	// held by a request or not; a volume's file never.
	free = 1 << 20
	must(os.WriteFile(filepath.Join(dir, "m0/volume-file"), mib, 0o644))
	g.scan()
	if n := size(".spool/tar-held"); n != 0 {
		t.Errorf("under disk pressure the request's file the VMM holds keeps %d bytes", n)
	}
	if n := size("m0/volume-file"); n != 1<<20 {
		t.Errorf("under disk pressure a volume's file was emptied: %d bytes", n)
	}
}

// waitFDs waits for process pid to have descriptor n-1 open.
func waitFDs(t *testing.T, pid, n int) {
	t.Helper()
	for range 100 {
		if _, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(n-1)); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d did not open its descriptors", pid)
}

func openSize(t *testing.T, pid, fd int) int64 {
	t.Helper()
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
