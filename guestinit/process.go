package main

import (
	"errors"
	"fmt"
	"github.com/creack/pty"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// defaultPath is Docker's PATH for a process whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// drainGrace bounds how long output is still forwarded after a process
// ended: a background child may hold the pipes open for ever.
const drainGrace = 200 * time.Millisecond

// startError is a process that could not start, with Docker's exit code.
type startError struct {
	code int
	msg  string
}

func (e *startError) Error() string { return e.msg }

// runProcess serves one stream: a process (Exec in, Started, output and Exit
// out; Stdin and Signal frames in while it runs), or a ProcRequest.
func (g *guest) runProcess(st net.Conn) {
	defer st.Close()
	f, err := proto.ReadFrame(st)
	if err != nil {
		return
	}
	if f.Type == proto.TypeProcRequest {
		serveProcRequest(st, f)
		return
	}
	if f.Type == proto.TypeFSRequest {
		serveFS(st, f)
		return
	}
	var ex proto.Exec
	if err := f.Decode(&ex); err != nil {
		_ = proto.WriteMessage(st, &proto.Error{Message: err.Error()})
		return
	}
	// The output copiers and the exit report share the stream.
	w := proto.NewWriter(st)
	var exit *proto.Exit
	if execHook != nil {
		exit = execHook(&ex, w)
	}
	if exit == nil {
		exit = g.execute(&ex, st, w)
	}
	_ = w.Message(exit)
	if ex.Main {
		close(g.mainDone)
	}
}

func (g *guest) execute(ex *proto.Exec, st net.Conn, w *proto.Writer) *proto.Exit {
	path, attr, err := prepare(ex)
	if err != nil {
		return startFailure(err)
	}
	if ex.Tty {
		return g.executeTTY(ex, path, attr, st, w)
	}
	stdin, err := stdinFor(ex, attr)
	if err != nil {
		return startFailure(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return startFailure(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return startFailure(err)
	}
	attr.Files = append(attr.Files, outW, errW)
	p, wait, err := g.startBoxProcess(ex, path, attr)
	outW.Close()
	errW.Close()
	if attr.Files[0] != nil {
		attr.Files[0].Close()
	}
	if err != nil {
		outR.Close()
		errR.Close()
		return startFailure(classifyStart(ex.Args[0], err))
	}
	_ = w.Message(&proto.Started{PID: p.Pid})

	var copies sync.WaitGroup
	forward := func(r *os.File, t proto.Type) {
		defer copies.Done()
		_ = w.Copy(t, r)
	}
	copies.Add(2)
	go forward(outR, proto.TypeStdout)
	go forward(errR, proto.TypeStderr)
	go controlProcess(st, p, stdin, nil)

	ws := <-wait
	drained := make(chan struct{})
	go func() { copies.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		// Closing the read ends stops the copiers; a later writer gets SIGPIPE.
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()
	code, sig := exitCode(ws)
	return &proto.Exit{Code: code, Signal: sig}
}

// stdinFor gives the process /dev/null or a pipe the host writes into.
func stdinFor(ex *proto.Exec, attr *os.ProcAttr) (*os.File, error) {
	if !ex.Stdin {
		f, err := os.Open(os.DevNull)
		attr.Files = []*os.File{f}
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	attr.Files = []*os.File{r}
	return w, nil
}

// controlProcess applies Stdin, Signal and (with a terminal) Resize
// frames from the host.
func controlProcess(st net.Conn, p *os.Process, stdin *os.File, ptmx *os.File) {
	defer func() {
		if stdin != nil {
			stdin.Close()
		}
	}()
	for {
		f, err := proto.ReadFrame(st)
		if err != nil {
			return
		}
		switch f.Type {
		case proto.TypeStdin:
			if stdin != nil {
				_, _ = stdin.Write(f.Payload)
			}
		case proto.TypeResize:
			var rs proto.Resize
			if ptmx != nil && f.Decode(&rs) == nil {
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: rs.Rows, Cols: rs.Cols})
			}
		case proto.TypeStdinClose:
			// A terminal stays open: closing its master would hang up
			// the process.
			if stdin != nil && ptmx == nil {
				stdin.Close()
				stdin = nil
			}
		case proto.TypeSignal:
			var s proto.Signal
			if f.Decode(&s) == nil {
				_ = p.Signal(syscall.Signal(s.Signal))
			}
		}
	}
}

func startFailure(err error) *proto.Exit {
	var se *startError
	if errors.As(err, &se) {
		return &proto.Exit{Code: se.code, Error: se.msg}
	}
	return &proto.Exit{Code: 126, Error: err.Error()}
}

// classifyStart maps an execve failure to Docker's exit codes.
func classifyStart(name string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return &startError{127, fmt.Sprintf("exec: %q: no such file or directory", name)}
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return &startError{126, fmt.Sprintf("exec: %q: permission denied", name)}
	case errors.Is(err, unix.ENOEXEC):
		return &startError{126, fmt.Sprintf("exec: %q: exec format error", name)}
	}
	return &startError{126, fmt.Sprintf("exec: %q: %v", name, err)}
}

// prepare resolves user, environment, working directory and executable.
func prepare(ex *proto.Exec) (string, *os.ProcAttr, error) {
	if len(ex.Args) == 0 || ex.Args[0] == "" {
		return "", nil, &startError{127, "no command specified"}
	}
	u, err := resolveUser(ex.User, "/etc/passwd", "/etc/group")
	if err != nil {
		return "", nil, &startError{126, err.Error()}
	}
	if err := addGroups(u, ex.Groups, "/etc/group"); err != nil {
		return "", nil, &startError{126, err.Error()}
	}
	env := withDefaults(ex.Env, u)
	dir := ex.Dir
	if dir == "" {
		dir = "/"
	}
	// Docker creates a missing working directory rather than failing.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, &startError{126, fmt.Sprintf("working directory %s: %v", dir, err)}
	}
	path, err := lookPath(ex.Args[0], envValue(env, "PATH"), dir)
	if err != nil {
		return "", nil, err
	}
	attr := &os.ProcAttr{
		Dir: dir,
		Env: env,
		Sys: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups},
			// Into the box's cgroup, which pause freezes.
			UseCgroupFD: boxCgroup >= 0,
			CgroupFD:    boxCgroup,
		},
	}
	return path, attr, nil
}

// lookPath finds a command as execvp would, with Docker's messages.
func lookPath(name, pathEnv, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return "", &startError{127, fmt.Sprintf("exec: %q: no such file or directory", name)}
		case fi.IsDir():
			return "", &startError{126, fmt.Sprintf("exec: %q: is a directory", name)}
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &startError{127, fmt.Sprintf("exec: %q: executable file not found in $PATH", name)}
}

// withDefaults adds PATH and HOME where the environment lacks them.
func withDefaults(env []string, u *user) []string {
	out := append([]string(nil), env...)
	if !hasEnv(out, "PATH") {
		out = append(out, "PATH="+defaultPath)
	}
	if !hasEnv(out, "HOME") {
		home := u.home
		if home == "" {
			home = "/"
		}
		out = append(out, "HOME="+home)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			v = kv[len(key)+1:]
		}
	}
	return v
}
