package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
)

// The CLI talks to a box's supervisor over a unix socket: one JSON request
// line, one JSON reply line. An attach then carries guest-protocol frames
// both ways (Stdin, StdinClose and Signal in; Stdout, Stderr and Exit out).

// supRequest is one request to a supervisor.
type supRequest struct {
	Op      string `json:"op"` // attach, exec, proc, stop, kill, pause, unpause, wait, update, network
	Signal  int    `json:"signal,omitempty"`
	Timeout int    `json:"timeout,omitempty"` // stop: seconds before SIGKILL; -1 waits for ever
	Stdin   bool   `json:"stdin,omitempty"`
	// Proxy marks signals forwarded from a foreground CLI: enough of them
	// stop the VM for a process that ignores them.
	Proxy bool `json:"proxy,omitempty"`
	// Rows and Cols are an attaching terminal's size.
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// Changed names what an update changed in the box's record: cpus,
	// memory, restart.
	Changed []string `json:"changed,omitempty"`
}

// supReply answers a request.
type supReply struct {
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exitCode"`
	// Notes are an update's changes that wait for the next start.
	Notes []string `json:"notes,omitempty"`
}

// ErrNotRunning is a request that needs the box's supervisor when none
// runs.
var ErrNotRunning = errors.New("box is not running")

func (r *Runtime) supSocket(id string) string { return filepath.Join(r.runDir(id), "sup.sock") }

// call sends one request to box id's supervisor and reads the reply. The
// connection is returned open for attach.
func (r *Runtime) call(ctx context.Context, id string, req *supRequest) (net.Conn, *supReply, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.supSocket(id))
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, nil, ErrNotRunning
		}
		return nil, nil, fmt.Errorf("reach the box's supervisor: %w", err)
	}
	stop := closeOnDone(ctx, conn)
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("%s: %w", req.Op, err)
	}
	line, err := readLine(conn)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		// The supervisor ended while answering: the box is down.
		return nil, nil, ErrNotRunning
	}
	var rep supReply
	if err := json.Unmarshal(line, &rep); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("%s: bad reply from supervisor: %w", req.Op, err)
	}
	if rep.Error != "" {
		conn.Close()
		return nil, nil, errors.New(rep.Error)
	}
	return conn, &rep, nil
}

// request is call for requests whose reply is all there is.
func (r *Runtime) request(ctx context.Context, id string, req *supRequest) (*supReply, error) {
	conn, rep, err := r.call(ctx, id, req)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return rep, nil
}

// readLine reads up to a newline byte by byte, so that nothing after the
// line (attach frames) is consumed into a buffer.
func readLine(conn net.Conn) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 64<<10 {
		if _, err := conn.Read(b); err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			return line, nil
		}
		line = append(line, b[0])
	}
	return nil, errors.New("reply too long")
}
