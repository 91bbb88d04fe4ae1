package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"sort"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/guestinit/proto/tarfs"
	"golang.org/x/sys/unix"
)

// The overlay's layers, open since before the switch of root: the box
// sees neither, guestinit reads both for diff and commit.
var layerDirs struct {
	upper, image *os.File
}

// ownPaths are what a3s-box itself puts in a box's writable layer: mount
// points and the files Setup writes. Docker keeps these in an init layer
// and bind mounts, so they are never among a box's changes, and neither
// are they here.
var ownPaths = map[string]bool{
	"/proc": true, "/sys": true, "/dev": true,
	"/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true,
}

// reopen gives a fresh read position on one of the layer directories.
func reopen(d *os.File) (*os.File, error) {
	if d == nil {
		return nil, errors.New("the box's layers are not open (the guest booted without an overlay)")
	}
	fd, err := unix.Openat(int(d.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.Name()), nil
}

// fsDiff sends the box's changes against its image, in Docker's order and
// with Docker's rules: a path is A when the image lacks it, C when the
// image has it, D for a whiteout or an opaque directory; the directory of
// an A or D that is not itself listed comes first as C; a directory whose
// mode, owner and modification time equal the image's is not a change.
func fsDiff(st net.Conn) error {
	upper, err := reopen(layerDirs.upper)
	if err != nil {
		return err
	}
	defer upper.Close()
	lower, err := reopen(layerDirs.image)
	if err != nil {
		return err
	}
	defer lower.Close()
	if err := proto.WriteMessage(st, &proto.FSInfo{Name: ".", Dir: true}); err != nil {
		return err
	}
	out := proto.NewDataWriter(st)
	enc := json.NewEncoder(out)
	err = changes(upper, lower, func(c proto.Change) error { return enc.Encode(&c) })
	if err != nil {
		return err
	}
	return out.Close()
}

// changes walks an overlay's upper directory beside its lower one and
// tells emit each change, in diff's order.
func changes(upper, lower *os.File, emit func(proto.Change) error) error {
	w := &diffWalk{out: emit, listed: map[string]bool{}}
	return w.dir(upper, lower, "")
}

type diffWalk struct {
	out    func(proto.Change) error
	listed map[string]bool // directories already listed
}

func (w *diffWalk) emit(kind, p string) error {
	return w.out(proto.Change{Kind: kind, Path: p})
}

// dir walks one upper directory beside its image counterpart (nil when
// the image has none or it is hidden by an opaque directory).
func (w *diffWalk) dir(upper, lower *os.File, p string) error {
	names, err := upper.Readdirnames(-1)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		cp := p + "/" + n
		if ownPaths[cp] {
			continue
		}
		var ust unix.Stat_t
		if err := unix.Fstatat(int(upper.Fd()), n, &ust, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return err
		}
		isDir := ust.Mode&unix.S_IFMT == unix.S_IFDIR
		var lst unix.Stat_t
		inImage := lower != nil && unix.Fstatat(int(lower.Fd()), n, &lst, unix.AT_SYMLINK_NOFOLLOW) == nil
		var sub *os.File
		if isDir {
			if sub, err = openDir(upper, n); err != nil {
				return err
			}
		}
		kind := "A"
		switch {
		case ust.Mode&unix.S_IFMT == unix.S_IFCHR && ust.Rdev == 0:
			kind = "D"
		case isDir && isOpaque(sub) && inImage:
			kind = "D"
		case inImage && isDir && lst.Mode&unix.S_IFMT == unix.S_IFDIR && sameDir(&ust, &lst):
			kind = ""
		case inImage:
			kind = "C"
		}
		if kind != "" {
			if isDir {
				w.listed[cp] = true
			}
			if (kind == "A" || kind == "D") && p != "" && !w.listed[p] {
				if err := w.emit("C", p); err != nil {
					return err
				}
				w.listed[p] = true
			}
			if err := w.emit(kind, cp); err != nil {
				return err
			}
		}
		if sub == nil {
			continue
		}
		var lsub *os.File
		if inImage && !isOpaque(sub) && lst.Mode&unix.S_IFMT == unix.S_IFDIR {
			lsub, _ = openDir(lower, n)
		}
		err = w.dir(sub, lsub, cp)
		sub.Close()
		if lsub != nil {
			lsub.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sameDir is Docker's test of an unchanged directory, owners added;
// times match when their seconds do and either lacks nanoseconds (tar
// keeps whole seconds).
func sameDir(a, b *unix.Stat_t) bool {
	return a.Mode == b.Mode && a.Uid == b.Uid && a.Gid == b.Gid && a.Mtim.Sec == b.Mtim.Sec &&
		(a.Mtim.Nsec == b.Mtim.Nsec || a.Mtim.Nsec == 0 || b.Mtim.Nsec == 0)
}

func isOpaque(d *os.File) bool {
	buf := make([]byte, 4)
	n, err := unix.Fgetxattr(int(d.Fd()), "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func openDir(parent *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// fsLayer sends the box's writable layer as an OCI layer tar, with the
// box's processes stopped meanwhile when pause is set.
func fsLayer(st net.Conn, pause bool, spool string) error {
	upper, err := reopen(layerDirs.upper)
	if err != nil {
		return err
	}
	defer upper.Close()
	if pause {
		thaw, err := freeze()
		if err != nil {
			return err
		}
		defer thaw()
	}
	return sendTar(st, &proto.FSInfo{Name: ".", Dir: true}, spool, func(a *tarfs.Archiver) error {
		a.Layer = true
		a.Skip = func(name string) bool { return ownPaths["/"+name] }
		return a.AddContents(upper, "")
	})
}

// openLayers opens the overlay's upper directory and the image before the
// switch of root hides them.
func openLayers(upper, image string) error {
	var err error
	if layerDirs.upper, err = os.Open(upper); err != nil {
		return err
	}
	layerDirs.image, err = os.Open(image)
	return err
}

// keepTimes records dir's times and returns what puts them back: a file
// a3s-box writes for itself (/etc/hosts) leaves its directory as the box
// had it, so the directory shows in no diff.
func keepTimes(dir string) (restore func()) {
	var st unix.Stat_t
	if unix.Lstat(dir, &st) != nil {
		return func() {}
	}
	return func() {
		_ = unix.UtimesNanoAt(unix.AT_FDCWD, dir, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	}
}
