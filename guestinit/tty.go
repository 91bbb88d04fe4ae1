package main

import (
	"net"
	"os"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/creack/pty"
)

// executeTTY runs a process on a new pseudo-terminal: the terminal is its
// stdin, stdout and stderr and its controlling terminal, so Ctrl-C typed on
// the host reaches its foreground process group through the line
// discipline, as on any terminal.
func (g *guest) executeTTY(ex *proto.Exec, path string, attr *os.ProcAttr, st net.Conn, w *proto.Writer) *proto.Exit {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return startFailure(err)
	}
	defer ptmx.Close()
	if ex.Rows > 0 && ex.Cols > 0 {
		_ = pty.Setsize(ptmx, &pty.Winsize{Rows: ex.Rows, Cols: ex.Cols})
	}
	attr.Files = []*os.File{tty, tty, tty}
	attr.Sys.Setctty = true
	attr.Sys.Ctty = 0
	if !hasEnv(attr.Env, "TERM") {
		attr.Env = append(attr.Env, "TERM=xterm")
	}
	p, wait, err := g.startBoxProcess(ex, path, attr)
	tty.Close()
	if err != nil {
		return startFailure(classifyStart(ex.Args[0], err))
	}
	_ = w.Message(&proto.Started{PID: p.Pid})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		// Once every holder of the terminal has exited, reads end with
		// EIO.
		_ = w.Copy(proto.TypeStdout, ptmx)
	}()
	go controlProcess(st, p, ptmx, ptmx)
	ws := <-wait
	select {
	case <-copied:
	case <-time.After(drainGrace):
	}
	code, sig := exitCode(ws)
	return &proto.Exit{Code: code, Signal: sig}
}
