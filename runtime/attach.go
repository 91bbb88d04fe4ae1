package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// attachClient is one attached CLI, on the supervisor's side.
type attachClient struct {
	conn net.Conn
	w    *proto.Writer // onto conn, each frame within attachWriteTimeout
}

// attachWriteTimeout drops a client that stops reading, rather than
// stalling the box's output for everyone.
const attachWriteTimeout = 10 * time.Second

// deadlineWriter gives every Write, and so every frame, its own
// attachWriteTimeout.
type deadlineWriter struct{ net.Conn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
	return d.Conn.Write(p)
}

// attach joins a client to the main process's streams until the process
// ends or the client leaves.
func (s *supervisor) attach(conn net.Conn, req *supRequest) {
	stdin := req.Stdin
	if req.Rows > 0 && req.Cols > 0 {
		s.resize(req.Rows, req.Cols)
	}
	// The reply line goes out before the client joins: once it is among
	// the clients, the box's output frames may be written to conn at any
	// moment, and one must not come before or inside the reply.
	reply(conn, &supReply{})
	conn.SetWriteDeadline(time.Time{})
	c := &attachClient{conn: conn, w: proto.NewWriter(deadlineWriter{conn})}
	s.mu.Lock()
	s.clients[c] = true
	s.mu.Unlock()
	s.attachMu.Do(func() { close(s.attached) })
	for {
		f, err := proto.ReadFrame(conn)
		if err != nil {
			break
		}
		switch f.Type {
		case proto.TypeStdin, proto.TypeStdinClose:
			if !stdin {
				continue
			}
			s.mu.Lock()
			w := s.stdin
			s.mu.Unlock()
			if w == nil {
				continue
			}
			if f.Type == proto.TypeStdinClose {
				w.Close()
			} else {
				_, _ = w.Write(f.Payload)
			}
		case proto.TypeSignal:
			var sig proto.Signal
			if f.Decode(&sig) == nil {
				_ = s.kill(syscall.Signal(sig.Signal), true)
			}
		case proto.TypeResize:
			var rs proto.Resize
			if f.Decode(&rs) == nil {
				s.resize(rs.Rows, rs.Cols)
			}
		}
	}
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	conn.Close()
}

// resize records the terminal size of the latest client and applies it to
// a main process that has a terminal.
func (s *supervisor) resize(rows, cols uint16) {
	s.mu.Lock()
	s.rows, s.cols = rows, cols
	p := s.proc
	s.mu.Unlock()
	if p != nil && s.rec.Main.Tty {
		_ = p.Resize(rows, cols)
	}
}

// Attachment is a CLI attached to a box's main process.
type Attachment struct {
	stream
}

// ErrDetached is returned by a stdin reader when the user typed the detach
// keys, and by Copy and Wait after it: the box goes on running.
var ErrDetached = errors.New("detached")

// Attach connects to box id's main process. With stdin, what Copy reads
// from its stdin goes to the process (a box created with -i).
func (r *Runtime) Attach(ctx context.Context, id string, stdin bool, rows, cols uint16) (*Attachment, error) {
	conn, _, err := r.call(ctx, id, &supRequest{Op: "attach", Stdin: stdin, Rows: rows, Cols: cols})
	if err != nil {
		return nil, err
	}
	return &Attachment{newStream(conn)}, nil
}

// ErrSupervisorLost is an attachment whose supervisor went away without
// reporting the box's exit.
var ErrSupervisorLost = errors.New("the box's supervisor exited unexpectedly")

// Copy relays the process's output to pio until it exits, and pio.Stdin
// to it; it returns the process's exit.
func (a *Attachment) Copy(pio ProcessIO) (*proto.Exit, error) {
	if pio.Stdin != nil {
		go a.pumpStdin(pio.Stdin)
	}
	exit, err := a.copyOut(pio)
	switch {
	case err == nil, errors.Is(err, ErrDetached):
		return exit, err
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return nil, ErrSupervisorLost
	}
	return nil, fmt.Errorf("attach: %w", err)
}
