package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symbolic link expansion in one resolution, as the
// kernel's ELOOP limit does.
const maxSymlinks = 40

// fsError is a failed file system operation with the code the host words
// its message by.
type fsError struct {
	code, path string
	err        error
}

func (e *fsError) Error() string {
	switch e.code {
	case proto.ErrNotFound:
		return e.path + ": no such file or directory"
	case proto.ErrEscape:
		return e.path + ": a symbolic link leads out of the box's root"
	}
	return e.path + ": " + e.err.Error()
}

// location is a path resolved inside the box's root: the directory that
// holds the item (open), the item's name in it ("." for the directory
// itself), and the item's status when it exists.
type location struct {
	dir    *os.File
	name   string
	base   string // the item's own name: its last component, "." for the root
	st     unix.Stat_t
	exists bool
	// slash marks a path written with a trailing "/" or "/.": it must
	// name a directory.
	slash bool
	// dot marks a path ending in "/.": a directory's contents (cp SRC/.).
	dot bool
}

func (l *location) isDir() bool { return l.exists && l.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// open opens the item, a directory, for use as a dirfd.
func (l *location) open() (*os.File, error) {
	fd, err := unix.Openat(int(l.dir.Fd()), l.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), l.base), nil
}

// step is one path component still to resolve; link marks those that
// came from a symbolic link's target.
type step struct {
	name string
	link bool
}

func steps(p string, link bool) []step {
	var out []step
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, step{c, link})
		}
	}
	return out
}

// resolveInBox resolves p inside the box's root as the kernel would with
// that root, one component at a time from open directories: absolute link
// targets start again at the root, relative ones at the link's directory,
// and a link whose ".." climbs above the root is refused as an escape (a
// ".." the user wrote stops at the root, as it does in a shell). The last
// component is followed when it is a link only with follow, or when p
// ends in a slash. Every directory but the item's must exist.
func resolveInBox(p string, follow bool) (*location, error) {
	rootFd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return resolveIn(rootFd, p, follow)
}

// resolveIn is resolveInBox with the directory rootFd (which it takes
// over) for the root.
func resolveIn(rootFd int, p string, follow bool) (*location, error) {
	slash := p == "" || strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || p == "."
	dot := strings.HasSuffix(p, "/.") || p == "."
	follow = follow || slash
	stack := []int{rootFd}
	names := []string{}
	release := func(keep int) {
		for _, fd := range stack {
			if fd != keep {
				unix.Close(fd)
			}
		}
	}
	queue := steps(p, false)
	links := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		cur := stack[len(stack)-1]
		if c.name == ".." {
			if len(stack) == 1 {
				if c.link {
					release(-1)
					return nil, &fsError{code: proto.ErrEscape, path: p}
				}
				continue
			}
			unix.Close(cur)
			stack, names = stack[:len(stack)-1], names[:len(names)-1]
			continue
		}
		last := len(queue) == 0
		var st unix.Stat_t
		err := unix.Fstatat(cur, c.name, &st, unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case errors.Is(err, unix.ENOENT) && last:
			release(cur)
			return &location{dir: os.NewFile(uintptr(cur), "dir"), name: c.name, base: c.name, slash: slash, dot: dot}, nil
		case errors.Is(err, unix.ENOENT):
			release(-1)
			return nil, &fsError{code: proto.ErrNotFound, path: p}
		case err != nil:
			release(-1)
			return nil, &fsError{path: p, err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK && (!last || follow) {
			if links++; links > maxSymlinks {
				release(-1)
				return nil, &fsError{path: p, err: unix.ELOOP}
			}
			target, err := readLink(cur, c.name)
			if err != nil {
				release(-1)
				return nil, &fsError{path: p, err: err}
			}
			if strings.HasPrefix(target, "/") {
				for _, fd := range stack[1:] {
					unix.Close(fd)
				}
				stack, names = stack[:1], names[:0]
			}
			queue = append(steps(target, true), queue...)
			continue
		}
		if last {
			release(cur)
			if slash && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				unix.Close(cur)
				return nil, &fsError{path: p, err: unix.ENOTDIR}
			}
			return &location{dir: os.NewFile(uintptr(cur), "dir"), name: c.name, base: c.name, st: st, exists: true, slash: slash, dot: dot}, nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			release(-1)
			return nil, &fsError{path: p, err: unix.ENOTDIR}
		}
		fd, err := unix.Openat(cur, c.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			release(-1)
			return nil, &fsError{path: p, err: err}
		}
		stack, names = append(stack, fd), append(names, c.name)
	}
	// p named a directory reached by "..", a link or the root itself.
	cur := stack[len(stack)-1]
	release(cur)
	loc := &location{dir: os.NewFile(uintptr(cur), "dir"), name: ".", base: ".", exists: true, slash: slash, dot: dot}
	if len(names) > 0 {
		loc.base = names[len(names)-1]
	}
	if err := unix.Fstat(cur, &loc.st); err != nil {
		loc.dir.Close()
		return nil, &fsError{path: p, err: err}
	}
	return loc, nil
}

func readLink(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	if n == len(buf) {
		return "", fmt.Errorf("symbolic link target too long")
	}
	return string(buf[:n]), nil
}
