package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/spec"
)

// Exec starts a process in running box id, as `docker exec` does; the
// supervisor relays a stream of the guest session to the caller, which
// then speaks the guest protocol itself.
//
// It records Docker's exec events: exec_create and exec_start (their
// actions carry the command, "exec_start: sh -c ..."), and exec_die with
// the exit code once the caller has seen the process end; a detached
// exec's end is not seen, so it has no exec_die.
func (r *Runtime) Exec(ctx context.Context, id string, ex *proto.Exec, pio ProcessIO) (*Process, error) {
	conn, _, err := r.call(ctx, id, &supRequest{Op: "exec"})
	if err != nil {
		if err == ErrNotRunning {
			return nil, fmt.Errorf("box %s is not running", id[:12])
		}
		return nil, err
	}
	// The events need the box's name and labels; a record that cannot be
	// read costs the events, not the exec.
	b, rerr := r.readBox(id)
	execID, cmd := newID(), strings.Join(ex.Args, " ")
	emit := func(action string, code int) {
		if rerr != nil {
			return
		}
		attrs := map[string]string{"execID": execID}
		if code >= 0 {
			attrs["exitCode"] = strconv.Itoa(code)
		}
		r.emit(b.BoxRecord, action, attrs)
	}
	// Both are recorded before the process runs, so its exec_die, which
	// the process's reader may write at any time, comes after them.
	emit("exec_create: "+cmd, -1)
	emit("exec_start: "+cmd, -1)
	if pio.Stdout != nil || pio.Stderr != nil || pio.Stdin != nil {
		pio.ended = func(exit *proto.Exit, err error) {
			if err == nil && exit != nil {
				emit("exec_die", exit.Code)
			}
		}
	}
	p, err := startProcess(ctx, conn, ex, pio)
	if se := (*StartError)(nil); errors.As(err, &se) {
		emit("exec_die", se.Code)
	}
	return p, err
}

// relayExec joins a client to a new stream of the guest session. On a
// paused box, what whilePaused allows (its files, its processes) runs
// with the vCPUs let go for that time, the box's processes still frozen;
// an exec is refused, as Docker does, naming what the client wanted.
func (s *supervisor) relayExec(conn net.Conn, what string, whilePaused bool) {
	s.mu.Lock()
	paused := s.st.Status == spec.StatusPaused
	g, running := s.guest, s.proc != nil && (s.st.Status == spec.StatusRunning || paused && whilePaused)
	var release func()
	var err error
	if g != nil && running && paused {
		release, err = s.holdVM()
	}
	s.mu.Unlock()
	if err != nil {
		reply(conn, &supReply{Error: fmt.Sprintf("box %s is paused and its VM would not resume for %s: %v", s.rec.Name, what, err)})
		conn.Close()
		return
	}
	if release != nil {
		defer release()
	}
	if g == nil || !running {
		msg := fmt.Sprintf("box %s is not running", s.rec.Name)
		if paused {
			msg = fmt.Sprintf("box %s is paused, unpause the box before %s", s.rec.Name, what)
		}
		reply(conn, &supReply{Error: msg})
		conn.Close()
		return
	}
	st, err := g.sess.Open()
	if err != nil {
		reply(conn, &supReply{Error: "open a stream to the guest: " + err.Error()})
		conn.Close()
		return
	}
	reply(conn, &supReply{})
	// The reply's write deadline must not cut the relay short: an exec
	// or a copy may run for as long as it likes.
	conn.SetWriteDeadline(time.Time{})
	splice(conn, st)
}

// splice copies both ways until either side ends, then closes both.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}
