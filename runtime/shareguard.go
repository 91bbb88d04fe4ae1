package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"golang.org/x/sys/unix"
)

// A running box's share lives on the host's file system, and its guest
// writes there through its VMM: left alone, it could fill the host's
// disk. The supervisor's share guard bounds it while the box runs:
//
//   - Names the host did not make go: in the share's root anything but
//     its mount entries and the spool directory, in the spool anything a
//     host process does not hold (a host's spool file is flocked for as
//     long as its request lasts), once seen on two scans in a row. A
//     regular file is emptied before its name goes, so a VMM that holds
//     it open keeps no blocks.
//   - When the share's file system has less than image.MinFreeBytes free,
//     every regular file of the share the VMM holds open, in use by a
//     request or not, deleted or not, is emptied: a request it belonged
//     to fails (the disk was about to be full), and a guest that goes on
//     writing is emptied again at the next scan.
//
// So a guest takes at most what it writes in one scan interval beyond
// the free-disk reserve, and names in the share stay few. The next start
// removes whatever is left (clearShare).

// The guard looks at the share's names every shareScan and at the free
// space (one statfs) every freeScan: a guest writes hundreds of MiB a
// second through 9p, so the free space is what must be watched closely.
const (
	shareScan = time.Second
	freeScan  = 100 * time.Millisecond
)

// maxShareNames bounds the names one scan visits: a guest making more
// is flooding, and the rest go at the next scans.
const maxShareNames = 4096

type shareGuard struct {
	dir string
	// entries are the share root's names the host made: mount entries
	// and the spool directory.
	entries map[string]bool
	// vmm is the VMM's PID, whose open files are the guest's writes.
	vmm int
	// free is the free space of the share's file system.
	free func() (int64, error)
	// reserve is the free space kept.
	reserve int64
	log     io.Writer
	// idle are the spool names seen unheld at the last scan.
	idle map[string]bool
	// pressed is set while the free space is below the reserve, so the
	// log says so once per episode.
	pressed bool
}

func newShareGuard(sh *vmm.Share, pid int, log io.Writer) *shareGuard {
	dir := sh.Dir
	entries := map[string]bool{proto.SpoolDir: true}
	for _, b := range sh.Binds {
		entries[b.Entry] = true
	}
	return &shareGuard{
		dir: dir, entries: entries, vmm: pid, reserve: image.MinFreeBytes, log: log,
		free: func() (int64, error) {
			var st unix.Statfs_t
			if err := unix.Statfs(dir, &st); err != nil {
				return 0, err
			}
			return int64(st.Bavail) * st.Bsize, nil
		},
		idle: map[string]bool{},
	}
}

// run scans until ctx ends.
func (g *shareGuard) run(ctx context.Context) {
	t := time.NewTicker(freeScan)
	defer t.Stop()
	var swept time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(swept) >= shareScan {
				g.sweep()
				swept = now
			}
			g.checkFree()
		}
	}
}

// scan is one look at everything.
func (g *shareGuard) scan() {
	g.sweep()
	g.checkFree()
}

// sweep drops the names the host did not make.
func (g *shareGuard) sweep() {
	share, err := openShareDir(g.dir)
	if err != nil {
		return // gone with the VM
	}
	defer unix.Close(share)
	names, err := dirNames(share)
	if err != nil {
		return
	}
	for _, n := range names[:min(len(names), maxShareNames)] {
		if !g.entries[n] {
			g.drop(share, n)
		}
	}
	if spool, err := openSubdir(share, proto.SpoolDir); err == nil {
		g.sweepSpool(spool)
		unix.Close(spool)
	}
}

// checkFree empties the share's open files while the disk is below the
// reserve.
func (g *shareGuard) checkFree() {
	free, err := g.free()
	if err != nil {
		return
	}
	if free >= g.reserve {
		g.pressed = false
		return
	}
	if n := g.emptyOpenFiles(); n > 0 && !g.pressed {
		g.pressed = true
		fmt.Fprintf(g.log, "a3s-box: the box's share left %d MiB of disk free, less than the %d MiB kept: emptied the %d files of it the VMM held\n",
			free>>20, g.reserve>>20, n)
	}
}

// sweepSpool drops the spool's names no host process holds, once they
// were unheld at the last scan too (a request's file is held from the
// moment it is made, so two scans are for nothing but safety).
func (g *shareGuard) sweepSpool(spool int) {
	names, err := dirNames(spool)
	if err != nil {
		return
	}
	idle := map[string]bool{}
	for _, n := range names[:min(len(names), maxShareNames)] {
		if held(spool, n) {
			continue
		}
		if g.idle[n] {
			g.drop(spool, n)
			continue
		}
		idle[n] = true
	}
	g.idle = idle
}

// held reports whether a host process holds spool file name (its lock).
func held(spool int, name string) bool {
	fd, err := openBeneath(spool, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	return false
}

// drop empties and removes name under dir: its regular files are
// truncated first, so an open descriptor keeps no blocks.
func (g *shareGuard) drop(dir int, name string) {
	emptyTree(dir, name, 0)
	_ = removeBeneath(dir, name)
}

// emptyTree truncates every regular file at or under name.
func emptyTree(dir int, name string, depth int) {
	if depth > 64 {
		return
	}
	fd, err := openBeneath(dir, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		emptyFile(fd)
	case unix.S_IFDIR:
		names, err := dirNames(fd)
		if err != nil {
			return
		}
		for _, n := range names[:min(len(names), maxShareNames)] {
			emptyTree(fd, n, depth+1)
		}
	}
}

// emptyFile truncates the regular file open as fd (read-only: reopened
// for writing through /proc, which reaches a deleted file too).
func emptyFile(fd int) {
	// The magic link names fd's own file: following it is the point.
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	_ = unix.Ftruncate(w, 0)
	unix.Close(w)
}

// guestWritten reports whether path (as the VMM's descriptor names it)
// is in the share's spool or a name the guest added to its root: never
// under a mount entry, whose files are a volume's or the host's.
func (g *shareGuard) guestWritten(path string) bool {
	rel, ok := strings.CutPrefix(path, g.dir+"/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rel, "/")
	return first == proto.SpoolDir || !g.entries[first]
}

// emptyOpenFiles truncates every regular file in the share the VMM holds
// open, deleted or not, and says how many.
func (g *shareGuard) emptyOpenFiles() int {
	fdDir := filepath.Join("/proc", strconv.Itoa(g.vmm), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if !g.guestWritten(strings.TrimSuffix(target, " (deleted)")) {
			continue
		}
		// The VMM's own descriptor, reopened: it is the file the guest
		// writes, whatever became of its name.
		fd, err := unix.Open(filepath.Join(fdDir, e.Name()), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Blocks > 0 {
			if unix.Ftruncate(fd, 0) == nil {
				n++
			}
		}
		unix.Close(fd)
	}
	return n
}
