package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// A box's volumes and bind mounts all come over one 9p share (the host
// has only so many virtio-mmio transports): each is an entry of the
// share, bind-mounted to its target. The share itself is mounted on a
// staging directory only while that happens.

// shareStaging is where the share is mounted while the box's mounts are
// made: under the box's /dev, a devtmpfs, so the box's own disk keeps no
// trace of it.
const shareStaging = "/dev/.a3s-share"

// shareOptions are the 9p mount options. msize 512000 is the most the
// 6.1 kernel's virtio transport takes (it caps larger values): measured
// under TCG, a 64 MiB write moves at about 250 MB/s against 20 MB/s with
// the 8 KiB default, a read at 0.8-1.6 GB/s against 20 MB/s.
// cache=mmap keeps no page cache beyond what shared writable mappings
// need, so two boxes on one volume see each other's writes at once and
// programs that mmap files (databases) work; it measured as fast as
// cache=none, while cache=loose wrote ten times slower and shows a box
// stale data. access=client leaves permission checks to the guest
// kernel, by the owners and modes it sees.
const shareOptions = "trans=virtio,version=9p2000.L,msize=512000,cache=mmap,access=client"

// applyMounts makes the box's mounts, parents before children.
func applyMounts(ms []proto.Mount) error {
	if len(ms) == 0 {
		return nil
	}
	ms = append([]proto.Mount(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool { return depth(ms[i].Target) < depth(ms[j].Target) })
	for _, m := range ms {
		if !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
			return fmt.Errorf("mount %s: target must be an absolute path other than /", m.Target)
		}
	}
	for _, m := range ms {
		if m.Type == proto.MountBind {
			if err := mountShare(); err != nil {
				return err
			}
			keepShare(shareStaging)
			defer unmountShare()
			break
		}
	}
	for _, m := range ms {
		var err error
		switch m.Type {
		case proto.MountBind:
			err = bindMount(m)
		case proto.MountTmpfs:
			err = tmpfsMount(m)
		default:
			err = fmt.Errorf("unknown mount type %q", m.Type)
		}
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
	}
	return nil
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

func mountShare() error {
	if err := os.MkdirAll(shareStaging, 0o700); err != nil {
		return fmt.Errorf("mount share: %w", err)
	}
	if err := unix.Mount(proto.ShareTag, shareStaging, "9p", 0, shareOptions); err != nil {
		return fmt.Errorf("mount share %s: %w", proto.ShareTag, err)
	}
	return nil
}

// unmountShare takes the staging mount away; the bind mounts made from
// it keep the share's filesystem.
func unmountShare() {
	if err := unix.Unmount(shareStaging, unix.MNT_DETACH); err != nil {
		logf("unmount share: %v", err)
	}
	os.Remove(shareStaging)
}

func bindMount(m proto.Mount) error {
	if !filepath.IsLocal(m.Source) || strings.ContainsRune(m.Source, '/') {
		return fmt.Errorf("share entry %q is not a plain name", m.Source)
	}
	src := filepath.Join(shareStaging, m.Source)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if m.Seed {
			if err := seed(m.Target, src); err != nil {
				return fmt.Errorf("copy the image's content: %w", err)
			}
		}
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return err
		}
	} else if err := touch(m.Target); err != nil {
		return err
	}
	if err := unix.Mount(src, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make read-only: %w", err)
		}
	}
	return nil
}

// touch makes sure a file exists at p to mount a file over.
func touch(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// tmpfsMount mounts a tmpfs as Docker does: nosuid, nodev and noexec
// unless the options say suid, dev or exec.
func tmpfsMount(m proto.Mount) error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	var data []string
	for _, o := range m.Options {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw":
			flags &^= unix.MS_RDONLY
		case "exec":
			flags &^= unix.MS_NOEXEC
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "suid":
			flags &^= unix.MS_NOSUID
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "dev":
			flags &^= unix.MS_NODEV
		case "nodev":
			flags |= unix.MS_NODEV
		default:
			if !strings.HasPrefix(o, "size=") && !strings.HasPrefix(o, "mode=") {
				return fmt.Errorf("unknown tmpfs option %q", o)
			}
			data = append(data, o)
		}
	}
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := os.MkdirAll(m.Target, 0o755); err != nil {
		return err
	}
	return unix.Mount("tmpfs", m.Target, "tmpfs", flags, strings.Join(data, ","))
}
