package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/hashicorp/yamux"
)

// Guest is the host end of a session with a box's guestinit.
type Guest struct {
	Hello proto.Hello
	sess  *yamux.Session
	ctl   net.Conn
	mu    sync.Mutex // one control request at a time
}

// ErrProtocolMismatch means the guest speaks another protocol version: the
// initramfs comes from another build than this a3s-box.
var ErrProtocolMismatch = errors.New("guest protocol mismatch")

// Handshake starts a session over conn and exchanges Hello.
func Handshake(ctx context.Context, conn net.Conn) (*Guest, error) {
	sess, err := proto.Client(conn)
	if err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	g := &Guest{sess: sess}
	stop := closeOnDone(ctx, sess)
	defer stop()
	ctl, err := sess.Open()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("open control stream: %w", err)
	}
	g.ctl = ctl
	if err := proto.WriteMessage(ctl, &proto.Hello{Protocol: proto.Version, Version: Version}); err != nil {
		sess.Close()
		return nil, fmt.Errorf("send hello: %w", err)
	}
	if err := proto.ReadMessage(ctl, &g.Hello); err != nil {
		sess.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var perr *proto.Error
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%w: %s", ErrProtocolMismatch, perr.Message)
		}
		return nil, fmt.Errorf("read hello: %w", err)
	}
	if g.Hello.Protocol != proto.Version {
		sess.Close()
		return nil, fmt.Errorf("%w: guest speaks %d, a3s-box speaks %d: rebuild the initramfs", ErrProtocolMismatch, g.Hello.Protocol, proto.Version)
	}
	return g, nil
}

// closeOnDone closes c if ctx ends before stop is called, which unblocks
// any read or write on it.
func closeOnDone(ctx context.Context, c io.Closer) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// request sends a control message and waits for Ack or the guest's Error.
func (g *Guest) request(ctx context.Context, m any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	stop := closeOnDone(ctx, g.ctl)
	defer stop()
	if err := proto.WriteMessage(g.ctl, m); err != nil {
		return err
	}
	var ack proto.Ack
	return proto.ReadMessage(g.ctl, &ack)
}

// Setup applies the box's identity in the guest.
func (g *Guest) Setup(ctx context.Context, s *proto.Setup) error {
	if err := g.request(ctx, s); err != nil {
		return fmt.Errorf("guest setup: %w", err)
	}
	return nil
}

// Freeze freezes or thaws the box's processes in the guest.
func (g *Guest) Freeze(ctx context.Context, frozen bool) error {
	if err := g.request(ctx, &proto.Freeze{Frozen: frozen}); err != nil {
		return fmt.Errorf("guest freeze: %w", err)
	}
	return nil
}

// Shutdown asks the guest to power off. It does not wait: the VMM's exit
// is the answer.
func (g *Guest) Shutdown() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return proto.WriteMessage(g.ctl, &proto.Shutdown{})
}

// Close ends the session.
func (g *Guest) Close() error { return g.sess.Close() }

// ProcessIO connects a guest process to the host. Nil members mean none.
type ProcessIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ended hears the process's exit before Wait returns it.
	ended func(*proto.Exit, error)
}

// Process is a process running in the guest.
type Process struct {
	PID int
	stream
	exit *proto.Exit
	err  error
	done chan struct{}
}

// StartError is a process the guest could not start, with Docker's exit
// code (126 cannot execute, 127 not found).
type StartError struct {
	Code    int
	Message string
}

func (e *StartError) Error() string { return e.Message }

// Exec starts a process in the guest. Its output is copied to pio until it
// exits; Wait returns its exit.
func (g *Guest) Exec(ctx context.Context, ex *proto.Exec, pio ProcessIO) (*Process, error) {
	st, err := g.sess.Open()
	if err != nil {
		return nil, fmt.Errorf("open process stream: %w", err)
	}
	return startProcess(ctx, st, ex, pio)
}

// startProcess runs ex over st, a stream to the guest: one of the
// session's own, or one a supervisor relays.
func startProcess(ctx context.Context, st net.Conn, ex *proto.Exec, pio ProcessIO) (*Process, error) {
	ex.Stdin = pio.Stdin != nil
	stop := closeOnDone(ctx, st)
	defer stop()
	if err := proto.WriteMessage(st, ex); err != nil {
		st.Close()
		return nil, fmt.Errorf("send exec: %w", err)
	}
	f, err := proto.ReadFrameLimit(st, proto.MaxControlPayload)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("exec %s: %w", ex.Args[0], err)
	}
	switch f.Type {
	case proto.TypeExit:
		st.Close()
		var exit proto.Exit
		if err := f.Decode(&exit); err != nil {
			return nil, err
		}
		return nil, &StartError{Code: exit.Code, Message: exit.Error}
	case proto.TypeStarted:
	default:
		st.Close()
		var started proto.Started
		return nil, fmt.Errorf("exec %s: %w", ex.Args[0], f.Decode(&started))
	}
	var started proto.Started
	if err := f.Decode(&started); err != nil {
		st.Close()
		return nil, err
	}
	p := &Process{PID: started.PID, stream: newStream(st), done: make(chan struct{})}
	go p.readLoop(pio)
	if pio.Stdin != nil {
		go p.pumpStdin(pio.Stdin)
	}
	return p, nil
}

func (p *Process) readLoop(pio ProcessIO) {
	defer close(p.done)
	p.exit, p.err = p.copyOut(pio)
	if p.err != nil && !errors.Is(p.err, ErrDetached) {
		p.err = fmt.Errorf("process %d: lost the guest: %w", p.PID, p.err)
	}
	if pio.ended != nil {
		pio.ended(p.exit, p.err)
	}
}

// Done is closed when the process has exited or the session broke.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait returns the process's exit once it has ended.
func (p *Process) Wait() (*proto.Exit, error) {
	<-p.done
	return p.exit, p.err
}
