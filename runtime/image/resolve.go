package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrEscape marks a layer entry that would land outside the rootfs.
var ErrEscape = errors.New("escapes the rootfs")

// maxSymlinks bounds symlink expansion during one resolution, as the
// kernel's ELOOP limit does.
const maxSymlinks = 40

// splitEntryName validates a tar entry name (or hard link target) and
// returns its components. Names are relative to the rootfs: a leading "/"
// or any ".." component is refused rather than cleaned, since a layer that
// needs either is broken or hostile.
func splitEntryName(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("absolute path %w", ErrEscape)
	}
	var parts []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, fmt.Errorf(`".." component %w`, ErrEscape)
		default:
			parts = append(parts, c)
		}
	}
	return parts, nil
}

// tree is a directory being populated from layers. Every path it touches
// is resolved inside it by resolve; nothing follows a symlink on the host.
type tree struct {
	root string
}

func (t *tree) host(rel []string) string {
	return filepath.Join(append([]string{t.root}, rel...)...)
}

// resolve walks parts inside the tree as the guest kernel would see them
// with the tree as its root: absolute symlink targets restart at the tree's
// root, relative ones continue from the link's directory. A ".." above the
// root is an escape and fails. The result names a path whose every
// component but the last is a real directory or does not exist yet; the
// last is itself followed only when followLast is set.
func (t *tree) resolve(parts []string, followLast bool) ([]string, error) {
	queue := append([]string(nil), parts...)
	var done []string
	links := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return nil, fmt.Errorf("path through a symlink %w", ErrEscape)
			}
			done = done[:len(done)-1]
			continue
		}
		next := append(done, c)
		fi, err := os.Lstat(t.host(next))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			done = next
			continue
		case err != nil:
			return nil, err
		case fi.Mode()&fs.ModeSymlink == 0 || (len(queue) == 0 && !followLast):
			done = next
			continue
		}
		if links++; links > maxSymlinks {
			return nil, fmt.Errorf("resolve %s: too many levels of symbolic links", strings.Join(parts, "/"))
		}
		target, err := os.Readlink(t.host(next))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		queue = append(strings.Split(target, "/"), queue...)
	}
	return done, nil
}

// checkSymlinkTarget refuses a relative symlink target that climbs above
// the root from dir (the link's resolved directory). Absolute targets stay
// inside: in the guest, and in resolve, they start at the rootfs root.
func checkSymlinkTarget(dir []string, target string) error {
	if strings.HasPrefix(target, "/") {
		return nil
	}
	depth := len(dir)
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return fmt.Errorf("symlink target %q %w", target, ErrEscape)
			}
		default:
			depth++
		}
	}
	return nil
}
