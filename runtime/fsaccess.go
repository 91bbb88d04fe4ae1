package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/vmm"
)

// A box's files are read and written by its guest, which resolves every
// path inside the box's root (cp, diff, commit, export). A running box's
// supervisor relays a new stream of its guest session to the CLI, as for
// exec. A stopped box gets a maintenance boot: the CLI takes the box's
// lock, so no start can race it, boots the box's VM from the same disks
// with no main process, no network and no setup but its volumes and bind
// mounts (nothing of the box changes but what the operation writes),
// opens its streams directly, and powers it off when done. Either way the
// guest runs the same code.

// fsPoll is how often a file system operation looks again for a box whose
// lock is held by something that does not answer yet.
const fsPoll = 50 * time.Millisecond

// fsSession hands out streams to a box's guest for file system
// operations.
type fsSession struct {
	open  func(ctx context.Context) (net.Conn, error)
	close func()
	// spool is the box's share directory, whose spool directory is
	// the host's end of the spool, "" when its VM has none.
	spool string
}

// openFS reaches box b's guest, booting it for maintenance when it is
// stopped. The caller closes the session.
func (r *Runtime) openFS(ctx context.Context, b *Box) (*fsSession, error) {
	for {
		lock, err := statefile.TryLock(boxLockPath(r.boxDir(b.ID)))
		if err == nil {
			return r.maintenance(ctx, b, lock)
		}
		if !errors.Is(err, statefile.ErrLocked) {
			return nil, err
		}
		conn, _, err := r.call(ctx, b.ID, &supRequest{Op: "fs"})
		if err == nil {
			first := conn
			spool := r.shareDir(b.ID)
			has, err := hasSpool(spool)
			if err != nil {
				conn.Close()
				return nil, fmt.Errorf("box %s: %w", b.Name, err)
			}
			if !has {
				spool = "" // a VM booted without one
			}
			return &fsSession{
				spool: spool,
				open: func(ctx context.Context) (net.Conn, error) {
					if c := first; c != nil {
						first = nil
						return c, nil
					}
					c, _, err := r.call(ctx, b.ID, &supRequest{Op: "fs"})
					return c, err
				},
				close: func() {
					if first != nil {
						first.Close()
					}
				},
			}, nil
		}
		if !errors.Is(err, ErrNotRunning) {
			return nil, err
		}
		// The lock's holder does not answer: another maintenance boot, or
		// a supervisor starting or exiting. Wait for either to be done.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(fsPoll):
		}
	}
}

// maintenance boots stopped box b, whose lock the caller took, for file
// system operations only. The lock is released when the session closes.
func (r *Runtime) maintenance(ctx context.Context, b *Box, lock *statefile.Lock) (*fsSession, error) {
	fail := func(err error) (*fsSession, error) {
		lock.Release()
		return nil, fmt.Errorf("boot box %s to reach its files: %w", b.Name, err)
	}
	if err := r.guestFiles(); err != nil {
		return fail(err)
	}
	cpus, mem, err := resources(&b.Spec)
	if err != nil {
		return fail(err)
	}
	dir := r.runDir(b.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	// The box's volumes and bind mounts are mounted as at a start, so
	// that a copy to or from a path on one reaches the volume; tmpfs
	// mounts are not, since a stopped box has none (as with Docker, the
	// box's own directory under one is what a copy reaches).
	lease, err := r.leaseVMMUser()
	if err != nil {
		return fail(err)
	}
	inner := fail
	fail = func(err error) (*fsSession, error) {
		lease.release()
		return inner(err)
	}
	share, mounts, err := r.prepareShare(b.BoxRecord, lease.User())
	if err != nil {
		return fail(err)
	}
	mounts = slices.DeleteFunc(mounts, func(m proto.Mount) bool { return m.Type == proto.MountTmpfs })
	m := &vmm.Machine{
		// The console goes to the run directory: the box's own
		// console.log keeps its last run's.
		Dir: dir, Socket: r.socketPath(b.ID), Share: share, User: lease.User(),
		Kernel: r.Kernel, Initrd: r.Initrd, Cmdline: KernelCmdline(r.Accel.Name),
		CPUs: cpus, MemMiB: mem, Accel: r.Accel.Name,
		Disks: []vmm.Disk{
			{Path: b.Rootfs, ReadOnly: true, Serial: "a3s-image"},
			{Path: r.rwDisk(b.ID), Serial: "a3s-rw"},
		},
	}
	vm, g, err := r.bootVM(ctx, m, b.Name, nil)
	if err != nil {
		os.RemoveAll(dir)
		return fail(err)
	}
	if len(mounts) > 0 {
		if err := g.Setup(ctx, &proto.Setup{MountsOnly: true, Mounts: mounts}); err != nil {
			vm.Kill()
			g.Close()
			os.RemoveAll(dir)
			return fail(err)
		}
	}
	return &fsSession{
		spool: r.shareDir(b.ID),
		open: func(ctx context.Context) (net.Conn, error) {
			st, err := g.sess.Open()
			if err != nil {
				return nil, fmt.Errorf("open a stream to the guest: %w", err)
			}
			return st, nil
		},
		close: func() {
			// A clean power-off, so what was written reaches the disk.
			if g.Shutdown() == nil {
				select {
				case <-vm.Done():
				case <-time.After(shutdownWait):
				}
			}
			vm.Kill()
			g.Close()
			os.RemoveAll(dir)
			lease.release()
			lock.Release()
		},
	}, nil
}

// superviseLock takes box id's lock for its supervisor. A lock held by a
// maintenance boot (a file operation on the stopped box) is waited for;
// one held by a supervisor that answers means the box already runs
// (statefile.ErrLocked).
func (r *Runtime) superviseLock(ctx context.Context, id string) (*statefile.Lock, error) {
	path := boxLockPath(r.boxDir(id))
	for {
		lock, err := statefile.TryLock(path)
		if !errors.Is(err, statefile.ErrLocked) {
			return lock, err
		}
		var d net.Dialer
		if c, err := d.DialContext(ctx, "unix", r.supSocket(id)); err == nil {
			c.Close()
			return nil, statefile.ErrLocked
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(fsPoll):
		}
	}
}

// fsRequest runs one file system request on a new stream of session s:
// it sends req and reads the guest's answer. The stream closes when ctx
// ends, until done is called, which closes it too.
func fsRequest(ctx context.Context, s *fsSession, req *proto.FSRequest) (st net.Conn, info *proto.FSInfo, done func(), err error) {
	st, err = s.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	stop := closeOnDone(ctx, st)
	done = func() { stop(); st.Close() }
	if err := proto.WriteMessage(st, req); err != nil {
		done()
		return nil, nil, nil, err
	}
	info = &proto.FSInfo{}
	if err := proto.ReadMessage(st, info); err != nil {
		done()
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		return nil, nil, nil, err
	}
	return st, info, done, nil
}

// fsRead runs req, whose answer is data (a tar for get, export and
// layer; diff's changes), on box b's guest, booting it when stopped: the
// guest's info and a reader of the data, a tar from the spool when the
// box has one (diff's small answer always comes on the stream). release
// ends the request and the session.
func (r *Runtime) fsRead(ctx context.Context, b *Box, req *proto.FSRequest) (info *proto.FSInfo, data io.Reader, release func(), err error) {
	s, err := r.openFS(ctx, b)
	if err != nil {
		return nil, nil, nil, err
	}
	spool := s.spool
	if req.Op == proto.FSDiff {
		spool = ""
	}
	sp, err := newSpoolFile(spool)
	if err != nil {
		s.close()
		return nil, nil, nil, err
	}
	if sp != nil {
		req.Spool = sp.name
	}
	st, info, done, err := fsRequest(ctx, s, req)
	if err != nil {
		sp.remove()
		s.close()
		return nil, nil, nil, boxFSError(b, err)
	}
	release = func() { done(); sp.remove(); s.close() }
	if sp == nil {
		return info, proto.NewDataReader(bufio.NewReaderSize(st, 64<<10)), release, nil
	}
	// The guest answers once the tar is whole in the spool file.
	if err := proto.ReadMessage(st, &proto.Ack{}); err != nil {
		release()
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		return nil, nil, nil, boxFSError(b, err)
	}
	data, err = sp.written()
	if err != nil {
		release()
		return nil, nil, nil, boxFSError(b, err)
	}
	return info, bufio.NewReaderSize(data, 256<<10), release, nil
}

// boxFSError words a guest's failure for the user, naming the box.
func boxFSError(b *Box, err error) error {
	var pe *proto.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The guest's end went away: its VM or supervisor stopped.
			return fmt.Errorf("box %s stopped before the operation finished (%w): check its state with `a3s-box ps -a`", b.Name, err)
		}
		return err
	}
	switch pe.Code {
	case proto.ErrNotFound:
		return fmt.Errorf("Could not find the file %s in box %s", pe.Message, b.Name)
	case proto.ErrEscape:
		return fmt.Errorf("%s in box %s: a symbolic link on the way leads out of the box's root", pe.Message, b.Name)
	}
	return fmt.Errorf("box %s: %s", b.Name, pe.Message)
}
