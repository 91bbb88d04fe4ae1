package runtime

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// stream is the host's end of one process's frames, directly on a guest
// session stream (exec) or through a supervisor (attach): what goes to
// the process is written here, one frame at a time.
type stream struct {
	conn net.Conn
	w    *proto.Writer // onto conn
	// detached is set when the user typed the detach keys: reads then
	// end with ErrDetached rather than an error.
	detached atomic.Bool
}

func newStream(conn net.Conn) stream {
	return stream{conn: conn, w: proto.NewWriter(conn)}
}

// Signal delivers sig to the process.
func (s *stream) Signal(sig syscall.Signal) error {
	return s.w.Message(&proto.Signal{Signal: int(sig)})
}

// Resize sets the size of the process's terminal.
func (s *stream) Resize(rows, cols uint16) error {
	return s.w.Message(&proto.Resize{Rows: rows, Cols: cols})
}

// Close drops the connection (a detach): the process goes on.
func (s *stream) Close() error { return s.conn.Close() }

// Drop ends the stream for good, our reads included: a stream's Close
// ends only our writes, and a guest that never answers would hold the
// reader forever.
func (s *stream) Drop() {
	_ = s.conn.SetDeadline(time.Now())
	s.conn.Close()
}

// copyOut relays the process's output to pio until its Exit frame, which
// it returns; any other end of the stream is an error, or ErrDetached
// when the user detached.
func (s *stream) copyOut(pio ProcessIO) (*proto.Exit, error) {
	defer s.conn.Close()
	for {
		// Every frame of a process stream is small (output comes in
		// proto.CopyChunk pieces), so none may be a bulk frame.
		f, err := proto.ReadFrameLimit(s.conn, proto.MaxControlPayload)
		if err != nil {
			if s.detached.Load() {
				return nil, ErrDetached
			}
			return nil, err
		}
		var w io.Writer
		switch f.Type {
		case proto.TypeStdout:
			w = pio.Stdout
		case proto.TypeStderr:
			w = pio.Stderr
		case proto.TypeExit:
			var exit proto.Exit
			if err := f.Decode(&exit); err != nil {
				return nil, err
			}
			return &exit, nil
		}
		if w != nil {
			_, _ = w.Write(f.Payload)
		}
	}
}

// pumpStdin copies r to the process until r ends (then the process's
// stdin is closed) or the user detaches (then only the connection is).
func (s *stream) pumpStdin(r io.Reader) {
	if err := s.w.Copy(proto.TypeStdin, r); errors.Is(err, ErrDetached) {
		s.detached.Store(true)
		s.conn.Close()
		return
	}
	// After a failed write the Writer sends nothing: only an input that
	// ended closes the process's stdin.
	_ = s.w.Frame(proto.TypeStdinClose, nil)
}
