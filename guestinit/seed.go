package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// seed copies what the image has at dir into vol, a volume mounted there
// for the first time, as Docker does: only when vol is empty and dir is a
// directory, keeping owners, modes, times, symlinks, hard links and
// FIFOs, and giving vol's root dir's owner and mode. Nothing is copied
// from another filesystem mounted below dir. A volume lives on the host,
// whose VMM may make neither a device node nor a set-id file there: the
// image's devices are left out and its set-id bits dropped, each said on
// the console, rather than failing the boot.
func seed(dir, vol string) error {
	var root unix.Stat_t
	err := unix.Stat(dir, &root)
	if errors.Is(err, fs.ErrNotExist) || err == nil && root.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	entries, err := os.ReadDir(vol)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return nil // a volume with data keeps it
	}
	// st_dev cannot tell what is mounted below dir: overlayfs reports the
	// lower filesystem's device for files not copied up.
	mounts := mountPoints()
	links := map[uint64]string{} // inode -> the copy's path, for hard links
	var dirs []string            // copied directories, for their times last
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		if mounts[p] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		dst := filepath.Join(vol, rel)
		mode := st.Mode & unix.S_IFMT
		if mode != unix.S_IFDIR && st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				return os.Link(first, dst)
			}
			links[st.Ino] = dst
		}
		switch mode {
		case unix.S_IFDIR:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, p)
		case unix.S_IFREG:
			if err := copyFile(p, dst); err != nil {
				return err
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			logf("volume at %s: device node %s left out (a volume is on the host)", dir, rel)
			return nil
		case unix.S_IFIFO:
			if err := unix.Mknod(dst, st.Mode, 0); err != nil {
				return fmt.Errorf("mknod %s: %w", dst, err)
			}
		default:
			return nil // sockets belong to a running program
		}
		return copyAttrs(dst, &st, mode != unix.S_IFDIR)
	})
	if err != nil {
		return err
	}
	// A directory's times change as entries land in it: set them last,
	// deepest first.
	for i := len(dirs) - 1; i >= 0; i-- {
		var st unix.Stat_t
		if unix.Lstat(dirs[i], &st) == nil {
			rel, _ := filepath.Rel(dir, dirs[i])
			setTimes(filepath.Join(vol, rel), &st)
		}
	}
	if err := os.Lchown(vol, int(root.Uid), int(root.Gid)); err != nil {
		return err
	}
	return unix.Chmod(vol, volumeMode(vol, root.Mode))
}

// volumeMode is mode's permission bits without the set-id ones, which
// the VMM refuses on the host.
func volumeMode(p string, mode uint32) uint32 {
	if mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		logf("volume: set-id bits of %s dropped (a volume is on the host)", p)
	}
	return mode & 0o7777 &^ (unix.S_ISUID | unix.S_ISGID)
}

// mountPoints lists where filesystems are mounted, from
// /proc/self/mountinfo (its fifth field, octal-escaped).
func mountPoints() map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out[unescapeOctal(f[4])] = true
		}
	}
	return out
}

// unescapeOctal undoes mountinfo's \ooo escapes of spaces and the like.
func unescapeOctal(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// copyAttrs gives dst the owner, mode and (unless later) times of st:
// owner first, since chown clears set-user-ID bits.
func copyAttrs(dst string, st *unix.Stat_t, times bool) error {
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(dst, volumeMode(dst, st.Mode)); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	if times {
		setTimes(dst, st)
	}
	return nil
}

func setTimes(p string, st *unix.Stat_t) {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	_ = unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}
