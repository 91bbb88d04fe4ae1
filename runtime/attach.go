package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// attachClient is one attached CLI, on the supervisor's side.
type attachClient struct {
	conn net.Conn
	mu   sync.Mutex
}

// attachWriteTimeout drops a client that stops reading, rather than
// stalling the box's output for everyone.
const attachWriteTimeout = 10 * time.Second

func (c *attachClient) write(t proto.Type, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
	return proto.WriteFrame(c.conn, t, p)
}

func (c *attachClient) send(t proto.Type, m any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
	return proto.WriteMessage(c.conn, m)
}

// attach joins a client to the main process's streams until the process
// ends or the client leaves.
func (s *supervisor) attach(conn net.Conn, stdin bool) {
	c := &attachClient{conn: conn}
	s.mu.Lock()
	s.clients[c] = true
	s.mu.Unlock()
	reply(conn, &supReply{})
	conn.SetWriteDeadline(time.Time{})
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
		}
	}
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	conn.Close()
}

// Attachment is a CLI attached to a box's main process.
type Attachment struct {
	conn net.Conn
	wmu  sync.Mutex
}

// Attach connects to box id's main process. With stdin, what Copy reads
// from its stdin goes to the process (a box created with -i).
func (r *Runtime) Attach(ctx context.Context, id string, stdin bool) (*Attachment, error) {
	conn, _, err := r.call(ctx, id, &supRequest{Op: "attach", Stdin: stdin})
	if err != nil {
		return nil, err
	}
	return &Attachment{conn: conn}, nil
}

// ErrSupervisorLost is an attachment whose supervisor went away without
// reporting the box's exit.
var ErrSupervisorLost = errors.New("the box's supervisor exited unexpectedly")

// Copy relays the process's output to pio until it exits, and pio.Stdin
// to it; it returns the process's exit.
func (a *Attachment) Copy(pio ProcessIO) (*proto.Exit, error) {
	defer a.conn.Close()
	if pio.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := pio.Stdin.Read(buf)
				if n > 0 && a.send(proto.TypeStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					_ = a.send(proto.TypeStdinClose, nil)
					return
				}
			}
		}()
	}
	for {
		f, err := proto.ReadFrame(a.conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil, ErrSupervisorLost
			}
			return nil, fmt.Errorf("attach: %w", err)
		}
		switch f.Type {
		case proto.TypeStdout:
			if pio.Stdout != nil {
				_, _ = pio.Stdout.Write(f.Payload)
			}
		case proto.TypeStderr:
			if pio.Stderr != nil {
				_, _ = pio.Stderr.Write(f.Payload)
			}
		case proto.TypeExit:
			var exit proto.Exit
			if err := f.Decode(&exit); err != nil {
				return nil, err
			}
			return &exit, nil
		}
	}
}

func (a *Attachment) send(t proto.Type, p []byte) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return proto.WriteFrame(a.conn, t, p)
}

// Signal forwards a signal the CLI caught to the main process.
func (a *Attachment) Signal(sig syscall.Signal) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return proto.WriteMessage(a.conn, &proto.Signal{Signal: int(sig)})
}

// Close detaches; the box goes on running.
func (a *Attachment) Close() error { return a.conn.Close() }
