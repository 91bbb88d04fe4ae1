package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/guestinit/proto/tarfs"
	"golang.org/x/sys/unix"
)

// serveFS answers one file system request (cp, diff, commit, export) on
// its own stream. Paths are resolved inside the box's root, which is
// guestinit's own root since the switch: nothing a box's link says can
// lead out of it. A failure before the data is the request's answer; one
// during it cuts the data stream short; either way it is an Error frame.
func serveFS(st net.Conn, f proto.Frame) {
	var req proto.FSRequest
	err := f.Decode(&req)
	if err == nil && req.Op != proto.FSPut {
		// The host sends nothing more; when it closes its end (it gave
		// up), closing ours wakes a write waiting on the stream's window.
		go func() {
			_, _ = io.Copy(io.Discard, st)
			st.Close()
		}()
	}
	if err == nil {
		switch req.Op {
		case proto.FSGet:
			err = fsGet(st, &req)
		case proto.FSPut:
			err = fsPut(st, &req)
		case proto.FSDiff:
			err = fsDiff(st)
		case proto.FSLayer:
			err = fsLayer(st, req.Pause, req.Spool)
		case proto.FSExport:
			err = fsExport(st, req.Spool)
		default:
			err = fmt.Errorf("unknown file system operation %q", req.Op)
		}
	}
	if err != nil {
		e := &proto.Error{Message: err.Error()}
		var fe *fsError
		if errors.As(err, &fe) && fe.code != "" {
			e.Code, e.Message = fe.code, fe.path
		}
		_ = proto.WriteMessage(st, e)
	}
}

// fsGet sends a tar of one item: a file, or a directory with everything
// below it (pseudo file systems left empty).
func fsGet(st net.Conn, req *proto.FSRequest) error {
	loc, err := resolveInBox(req.Path, req.Follow)
	if err != nil {
		return err
	}
	defer loc.dir.Close()
	if !loc.exists {
		return &fsError{code: proto.ErrNotFound, path: req.Path}
	}
	info := &proto.FSInfo{Name: loc.base, Dir: loc.isDir(), Mode: loc.st.Mode, Size: loc.st.Size}
	if loc.st.Mode&unix.S_IFMT == unix.S_IFLNK {
		if info.Link, err = readLink(int(loc.dir.Fd()), loc.name); err != nil {
			return err
		}
	}
	return sendTar(st, info, req.Spool, func(a *tarfs.Archiver) error {
		a.Descend, a.Direct = realFS, true
		return a.Add(int(loc.dir.Fd()), loc.name, loc.base)
	})
}

// sendTar answers with info, then sends the tar add writes as the data,
// or writes it into spool file spool and answers Ack once it is whole.
func sendTar(st net.Conn, info *proto.FSInfo, spool string, add func(*tarfs.Archiver) error) error {
	if err := proto.WriteMessage(st, info); err != nil {
		return err
	}
	if spool != "" {
		f, err := openSpool(spool, unix.O_WRONLY|unix.O_TRUNC)
		if err != nil {
			return err
		}
		defer f.Close()
		// Headers and small files are gathered into 9p writes of a
		// useful size; large files' chunks go through unbuffered.
		w := bufio.NewWriterSize(f, 64<<10)
		a := tarfs.NewArchiver(w)
		if err := add(a); err != nil {
			return err
		}
		if err := a.Close(); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return proto.WriteMessage(st, &proto.Ack{})
	}
	out := proto.NewDataWriter(st)
	a := tarfs.NewArchiver(out)
	if err := add(a); err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	return out.Close()
}

// fsExport sends a tar of the box's whole file system, leaving out what
// other file systems are mounted in it (pseudo file systems, volumes), as
// Docker's export does.
func fsExport(st net.Conn, spool string) error {
	root, err := os.Open("/")
	if err != nil {
		return err
	}
	defer root.Close()
	return sendTar(st, &proto.FSInfo{Name: ".", Dir: true}, spool, func(a *tarfs.Archiver) error {
		a.Descend = func(int) bool { return false }
		// lost+found is the image disk's, made by mkfs, not the image's.
		a.Skip = func(name string) bool { return name == "lost+found" }
		return a.AddContents(root, "")
	})
}

// realFS tells whether a mounted file system holds files worth copying:
// not the kernel's pseudo file systems, whose files have no fixed size.
func realFS(fd int) bool {
	var s unix.Statfs_t
	if unix.Fstatfs(fd, &s) != nil {
		return false
	}
	switch s.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.DEVPTS_SUPER_MAGIC, unix.CGROUP_SUPER_MAGIC,
		unix.CGROUP2_SUPER_MAGIC, unix.SECURITYFS_MAGIC, unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC, unix.BPF_FS_MAGIC:
		return false
	}
	return true
}
