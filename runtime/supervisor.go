package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

// A box's supervisor is one small process per running box (the
// containerd-shim pattern). It holds the box's lock, owns the VMM process,
// writes the box's state, log and events, applies its restart policy, runs
// its health checks and answers the CLI on a unix socket. It outlives the
// CLI that started it; its VMM dies with it (Pdeathsig), and the next
// a3s-box command finds such a box's lock free and repairs it.

// attachWait bounds how long a supervisor started for a foreground run
// waits for that run to attach before starting the main process anyway.
const attachWait = time.Minute

// SuperviseOptions configures a supervisor process.
type SuperviseOptions struct {
	// Ready gets one line, then is closed: "ok" once the main process
	// runs (or, with WaitAttach, once the supervisor listens), or
	// "error CODE MESSAGE" when the box failed to start.
	Ready io.WriteCloser
	// WaitAttach holds the main process until a client attaches, so a
	// foreground run sees all of its output.
	WaitAttach bool
}

type supervisor struct {
	r     *Runtime
	rec   *BoxRecord
	opts  SuperviseOptions
	logs  *logWriter
	net   *boxNet
	ready sync.Once

	attached chan struct{} // closed at the first attach
	attachMu sync.Once
	stopCh   chan struct{} // closed by stop: no more restarts
	stopOnce sync.Once
	done     chan struct{} // closed when the box is down for good

	mu        sync.Mutex
	st        *BoxState
	vm        vmm.VM
	machine   *vmm.Machine       // what the running VM was booted with
	cgroup    *host.CPUCgroup    // the VMM's cpu cgroup, nil when the host has none
	memCgroup *host.MemoryCgroup // the VMM's memory cgroup, nil when the host has none
	vmmUser   *vmmLease          // the VMM's host user, nil when not root
	guest     *Guest
	proc      *Process
	stdin     *io.PipeWriter
	// firstStdin is the read end of the first run's stdin, made before
	// the supervisor listens: a client may attach and send all its input
	// (and its close) before that run begins.
	firstStdin *io.PipeReader
	cancelRun  context.CancelFunc
	bootSig    syscall.Signal // the signal that cancelled a boot
	forwarded  int
	clients    map[*attachClient]bool
	rows       uint16 // the latest attached terminal's size
	cols       uint16
	waiters    []chan int
	// vmHolds counts the file and process reads running on the guest of
	// a paused box, whose vCPUs run only while there are some.
	vmHolds int
}

// Supervise runs box id until it is stopped and its restart policy is done
// with it: the body of the supervisor process.
func (r *Runtime) Supervise(ctx context.Context, id string, o SuperviseOptions) error {
	dir := r.boxDir(id)
	lock, err := r.superviseLock(ctx, id)
	if errors.Is(err, statefile.ErrLocked) {
		notify(o.Ready, "running")
		return nil
	}
	if err != nil {
		notify(o.Ready, "error 125 "+err.Error())
		return err
	}
	defer lock.Release()
	b, err := r.readBox(id)
	if err != nil {
		notify(o.Ready, "error 125 "+err.Error())
		return err
	}
	// Everything the guest sends is parsed in this process: bound it
	// before the first boot.
	defer limitSupervisor(id, b.Name)()
	s := &supervisor{
		r: r, rec: b.BoxRecord, opts: o, st: b.State,
		attached: make(chan struct{}), stopCh: make(chan struct{}), done: make(chan struct{}),
		clients: map[*attachClient]bool{},
	}
	if b.Spec.Interactive {
		s.firstStdin, s.stdin = io.Pipe()
	}
	if s.net, err = r.openNet(b.BoxRecord); err != nil {
		s.notifyReady(125, err)
		return err
	}
	defer s.net.close()
	if err := s.start(); err != nil {
		s.notifyReady(125, err)
		return err
	}
	defer s.logs.close()
	ln, err := s.listen()
	if err != nil {
		s.notifyReady(125, err)
		return err
	}
	var handlers sync.WaitGroup
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				s.handle(conn)
			}()
		}
	}()
	if o.WaitAttach {
		s.notifyReady(0, nil)
	}
	// The end of ctx (the supervisor was signalled) is a stop request.
	go func() {
		select {
		case <-ctx.Done():
			s.stop(stopSignal(s.rec), StopTimeout(b))
		case <-s.done:
		}
	}()
	s.loop(context.Background())
	close(s.done)
	ln.Close()
	// Let replies to stop and wait go out before the process ends.
	waited := make(chan struct{})
	go func() { handlers.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Second):
	}
	if _, err := os.Stat(dir); err == nil {
		os.RemoveAll(r.runDir(id))
	}
	return nil
}

// start records the supervisor in the box's state.
func (s *supervisor) start() error {
	logs, err := openLog(s.r.logPath(s.rec.ID), s.rec.Spec.Logging)
	if err != nil {
		return err
	}
	s.logs = logs
	s.st.SupervisorPID, s.st.ManualStop, s.st.Error = os.Getpid(), false, ""
	s.st.Ports = s.net.bindings()
	return s.r.saveState(s.rec.ID, s.st)
}

func (s *supervisor) listen() (net.Listener, error) {
	if err := os.MkdirAll(s.r.runDir(s.rec.ID), 0o700); err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	path := s.r.supSocket(s.rec.ID)
	os.Remove(path) // left by a supervisor that died; we hold the lock
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	// Whoever can connect can exec in the box: its owner alone.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	return ln, nil
}

func notify(w io.WriteCloser, line string) {
	if w != nil {
		fmt.Fprintln(w, line)
		w.Close()
	}
}

// notifyReady tells the starter how the start went, once.
func (s *supervisor) notifyReady(code int, err error) {
	s.ready.Do(func() {
		if err != nil {
			notify(s.opts.Ready, fmt.Sprintf("error %d %s", code, oneLine(err.Error())))
			return
		}
		notify(s.opts.Ready, "ok")
	})
}

// loop runs the box, restarting it as its policy says.
func (s *supervisor) loop(ctx context.Context) {
	var bo backoff
	for {
		began := time.Now()
		code, started, runErr := s.runOnce(ctx)
		s.logs.flush()
		s.mu.Lock()
		manual := s.st.ManualStop
		// The policy is read afresh: update may have changed it.
		restart := started && shouldRestart(s.current().Spec.Restart, code, s.st.RestartCount, manual)
		s.st.Status, s.st.ExitCode, s.st.FinishedAt = spec.StatusExited, code, time.Now().UTC()
		s.st.PID, s.st.VMMPID, s.st.VMMStart, s.st.VCPUs, s.st.Memory = 0, 0, 0, 0, 0
		s.st.Error = ""
		if runErr != nil {
			s.st.Error = runErr.Error()
		}
		if !started && s.st.StartedAt.IsZero() {
			// A box whose first start failed was never started: it stays
			// created, its error and code recorded, as Docker's does, and
			// the next apply (or start) tries it again.
			s.st.Status, s.st.FinishedAt = spec.StatusCreated, time.Time{}
		}
		if restart {
			s.st.Status = spec.StatusRestarting
		}
		if !restart {
			s.st.SupervisorPID, s.st.Ports = 0, nil
		}
		_ = s.r.saveState(s.rec.ID, s.st)
		s.mu.Unlock()
		if started {
			s.r.emit(s.rec, "die", map[string]string{"exitCode": fmt.Sprint(code)})
		}
		if !started {
			s.notifyReady(code, runErr)
		}
		if !restart {
			if s.rec.Spec.AutoRemove {
				_ = s.r.removeBox(s.rec.ID)
				s.r.emit(s.rec, "destroy", nil)
				_ = s.r.removeAnonymousVolumes(context.Background(), s.rec.Mounts)
			}
			s.endRun(code, runErr)
			return
		}
		s.endRun(code, runErr)
		select {
		case <-time.After(bo.next(time.Since(began))):
		case <-s.stopCh:
			s.mu.Lock()
			s.st.Status, s.st.SupervisorPID, s.st.Ports = spec.StatusExited, 0, nil
			_ = s.r.saveState(s.rec.ID, s.st)
			s.mu.Unlock()
			return
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		s.st.RestartCount++
		s.mu.Unlock()
	}
}

// endRun ends every attach with the main process's exit and answers
// waiters.
func (s *supervisor) endRun(code int, runErr error) {
	exit := &proto.Exit{Code: code}
	if runErr != nil {
		exit.Error = runErr.Error()
	}
	s.mu.Lock()
	clients, waiters := s.clients, s.waiters
	s.clients, s.waiters = map[*attachClient]bool{}, nil
	s.mu.Unlock()
	for c := range clients {
		_ = c.w.Message(exit)
		c.conn.Close()
	}
	for _, w := range waiters {
		w <- code
	}
}

// runOnce boots the VM, runs the main process to its end and powers the
// VM off. started is false when the main process never ran; err then says
// why (a *StartError carries Docker's 126 or 127).
func (s *supervisor) runOnce(ctx context.Context) (code int, started bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancelRun, s.bootSig, s.forwarded = cancel, 0, 0
	s.mu.Unlock()
	defer s.teardownVM()
	cancelled := func(err error) (int, bool, error) {
		s.mu.Lock()
		sig := s.bootSig
		s.mu.Unlock()
		if sig != 0 {
			return 128 + int(sig), false, nil
		}
		var se *StartError
		if errors.As(err, &se) {
			return se.Code, false, err
		}
		return 125, false, err
	}
	// The main process's stdin exists from the start of the run, so what
	// an attached client types during the boot waits for the process.
	var stdin *io.PipeReader
	if s.rec.Spec.Interactive {
		s.mu.Lock()
		stdin, s.firstStdin = s.firstStdin, nil
		if stdin == nil {
			var pw *io.PipeWriter
			stdin, pw = io.Pipe()
			s.stdin = pw
		}
		s.mu.Unlock()
		defer stdin.Close()
	}
	if err := s.r.guestFiles(); err != nil {
		return cancelled(err)
	}
	cpus, mem, err := resources(&s.current().Spec)
	if err != nil {
		return cancelled(err)
	}
	if err := os.MkdirAll(s.r.runDir(s.rec.ID), 0o700); err != nil {
		return cancelled(err)
	}
	m := &vmm.Machine{
		Dir: s.r.boxDir(s.rec.ID), Socket: s.r.socketPath(s.rec.ID), QMP: s.r.qmpSocket(s.rec.ID),
		Kernel: s.r.Kernel, Initrd: s.r.Initrd, Cmdline: KernelCmdline(s.r.Accel.Name),
		CPUs: cpus, MemMiB: mem, Accel: s.r.Accel.Name,
		Disks: []vmm.Disk{
			{Path: s.rec.Rootfs, ReadOnly: true, Serial: "a3s-image"},
			{Path: s.r.rwDisk(s.rec.ID), Serial: "a3s-rw"},
		},
		NICs: s.net.nics(),
	}
	if s.vmmUser == nil {
		// One user for the supervisor's life: restarts keep it, and the
		// lease goes when the supervisor does.
		if s.vmmUser, err = s.r.leaseVMMUser(); err != nil {
			return cancelled(err)
		}
	}
	share, mounts, err := s.r.prepareShare(s.rec, s.vmmUser.User())
	if err != nil {
		return cancelled(err)
	}
	m.Share, m.User = share, s.vmmUser.User()
	if err := s.boot(ctx, m); err != nil {
		return cancelled(err)
	}
	s.mu.Lock()
	g, pid := s.guest, s.vm.PID()
	s.mu.Unlock()
	go newShareGuard(share, pid, os.Stderr).run(ctx) // stderr is supervisor.log
	setup := &proto.Setup{
		Hostname: s.rec.Hostname,
		Hosts:    []proto.HostLine{{IP: "127.0.1.1", Names: []string{s.rec.Hostname}}},
		Mounts:   mounts,
	}
	if err := s.net.setup(ctx, g, setup); err != nil {
		return cancelled(err)
	}
	kernelSetup(setup, &s.rec.Spec.RunOptions)
	if err := g.Setup(ctx, setup); err != nil {
		return cancelled(err)
	}
	if err := s.net.setConfigured(ctx, g); err != nil {
		return cancelled(err)
	}
	if s.opts.WaitAttach {
		select {
		case <-s.attached:
		case <-time.After(attachWait):
		case <-ctx.Done():
			return cancelled(ctx.Err())
		}
	}
	pio := ProcessIO{Stdout: s.stream(proto.TypeStdout), Stderr: s.stream(proto.TypeStderr)}
	if stdin != nil {
		pio.Stdin = stdin
	}
	main := *s.rec.Main
	s.mu.Lock()
	main.Rows, main.Cols = s.rows, s.cols
	s.mu.Unlock()
	p, err := g.Exec(ctx, &main, pio)
	if err != nil {
		return cancelled(err)
	}
	now := time.Now().UTC()
	s.mu.Lock()
	s.proc = p
	s.st.Status, s.st.StartedAt, s.st.PID, s.st.Error = spec.StatusRunning, now, p.PID, ""
	s.st.Health = nil
	if s.rec.Health != nil {
		s.st.Health = &Health{Status: spec.HealthStarting, Log: []HealthResult{}}
	}
	_ = s.r.saveState(s.rec.ID, s.st)
	s.mu.Unlock()
	s.r.emit(s.rec, "start", nil)
	s.notifyReady(0, nil)
	s.r.recordGuest(g.Hello, s.rec.Name)
	if s.rec.Health != nil {
		go s.healthLoop(ctx, g, now)
	}
	exit, err := p.Wait()
	s.mu.Lock()
	s.proc = nil
	if s.stdin != nil {
		s.stdin.Close()
		s.stdin = nil
	}
	vm := s.vm
	s.mu.Unlock()
	if err != nil {
		select {
		case <-vm.Done():
			return 137, true, fmt.Errorf("the VM exited unexpectedly: %v", vm.Err())
		default:
			return 137, true, err
		}
	}
	return exit.Code, true, nil
}

// stream is where the main process's output goes: the box's log and every
// attached client.
func (s *supervisor) stream(t proto.Type) io.Writer {
	name := "stdout"
	if t == proto.TypeStderr {
		name = "stderr"
	}
	return writerFunc(func(p []byte) (int, error) {
		s.logs.write(name, p)
		s.mu.Lock()
		clients := make([]*attachClient, 0, len(s.clients))
		for c := range s.clients {
			clients = append(clients, c)
		}
		s.mu.Unlock()
		for _, c := range clients {
			if c.w.Frame(t, p) != nil {
				s.mu.Lock()
				delete(s.clients, c)
				s.mu.Unlock()
				c.conn.Close()
			}
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// teardownVM powers the VM off, or kills it: a box removed on exit keeps
// nothing of its disk, so it has nothing for a clean power-off to flush.
func (s *supervisor) teardownVM() {
	s.mu.Lock()
	vm, g, cg, mcg := s.vm, s.guest, s.cgroup, s.memCgroup
	s.vm, s.guest, s.cgroup, s.memCgroup, s.machine = nil, nil, nil, nil, nil
	s.mu.Unlock()
	if vm != nil {
		if g != nil && !s.rec.Spec.AutoRemove && g.Shutdown() == nil {
			select {
			case <-vm.Done():
			case <-time.After(shutdownWait):
			}
		}
		vm.Kill()
	}
	cg.Remove()
	mcg.Remove()
	if g != nil {
		g.Close()
	}
	os.Remove(s.r.socketPath(s.rec.ID))
	os.Remove(s.r.qmpSocket(s.rec.ID))
	_ = clearShare(s.r.shareDir(s.rec.ID))
}

// handle answers one client connection.
func (s *supervisor) handle(conn net.Conn) {
	line, err := readLine(conn)
	if err != nil {
		conn.Close()
		return
	}
	var req supRequest
	if err := json.Unmarshal(line, &req); err != nil {
		reply(conn, &supReply{Error: "bad request: " + err.Error()})
		conn.Close()
		return
	}
	switch req.Op {
	case "attach":
		s.attach(conn, &req)
		return
	case "exec":
		s.relayExec(conn, "exec", false)
		return
	case "fs":
		s.relayExec(conn, "reading or writing its files", true)
		return
	case "proc":
		s.relayExec(conn, "reading its processes", true)
		return
	case "update":
		reply(conn, &supReply{Notes: s.update(req.Changed)})
	case "stop":
		code := s.stop(syscall.Signal(req.Signal), req.Timeout)
		reply(conn, &supReply{ExitCode: code})
	case "kill":
		if err := s.kill(syscall.Signal(req.Signal), req.Proxy); err != nil {
			reply(conn, &supReply{Error: err.Error()})
		} else {
			reply(conn, &supReply{})
		}
	case "network":
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := s.refreshNetwork(ctx)
		cancel()
		if err != nil {
			reply(conn, &supReply{Error: err.Error()})
		} else {
			reply(conn, &supReply{})
		}
	case "pause", "unpause":
		if err := s.pause(req.Op == "pause"); err != nil {
			reply(conn, &supReply{Error: err.Error()})
		} else {
			reply(conn, &supReply{})
		}
	case "wait":
		ch := make(chan int, 1)
		s.mu.Lock()
		s.waiters = append(s.waiters, ch)
		s.mu.Unlock()
		select {
		case code := <-ch:
			reply(conn, &supReply{ExitCode: code})
		case <-s.done:
			s.mu.Lock()
			code := s.st.ExitCode
			s.mu.Unlock()
			reply(conn, &supReply{ExitCode: code})
		}
	default:
		reply(conn, &supReply{Error: fmt.Sprintf("unknown request %q", req.Op)})
	}
	conn.Close()
}

func reply(conn net.Conn, r *supReply) {
	b, _ := json.Marshal(r)
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Write(append(b, '\n'))
}

// stop sends the stop signal, waits up to timeout seconds (for ever when
// negative) for the main process to end, then kills it; it returns once
// the box is down for good.
func (s *supervisor) stop(sig syscall.Signal, timeout int) int {
	s.mu.Lock()
	s.st.ManualStop = true
	p, cancel, vm := s.proc, s.cancelRun, s.vm
	if p == nil && cancel != nil && s.bootSig == 0 {
		s.bootSig = sig
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopCh) })
	if p == nil {
		if cancel != nil {
			cancel()
		}
	} else {
		// Docker's stop reports each signal it sends as a kill, so a
		// stop reads kill, (kill,) die, stop.
		s.r.emit(s.rec, "kill", signalAttr(sig))
		_ = p.Signal(sig)
		s.resumeToEnd()
		var grace <-chan time.Time
		if timeout >= 0 {
			grace = time.After(time.Duration(timeout) * time.Second)
		}
		select {
		case <-p.Done():
		case <-grace:
			s.r.emit(s.rec, "kill", signalAttr(syscall.SIGKILL))
			_ = p.Signal(syscall.SIGKILL)
			select {
			case <-p.Done():
			case <-time.After(killGrace):
				// The guest does not answer: stop the VM itself.
				vm.Kill()
			}
		}
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.emit(s.rec, "stop", nil)
	return s.st.ExitCode
}

// kill sends sig to the main process. SIGKILL or the box's stop signal
// from the user count as a manual stop, as in Docker; forwarded signals
// (proxy) stop the VM itself after forceAfter of them.
func (s *supervisor) kill(sig syscall.Signal, proxy bool) error {
	s.mu.Lock()
	p, cancel, vm := s.proc, s.cancelRun, s.vm
	if !proxy && (sig == syscall.SIGKILL || sig == stopSignal(s.rec)) {
		s.st.ManualStop = true
	}
	if p == nil {
		if s.st.Status == spec.StatusRestarting && !proxy {
			s.mu.Unlock()
			return fmt.Errorf("box %s is restarting, wait until the box is running", s.rec.Name)
		}
		if cancel != nil && s.bootSig == 0 {
			s.bootSig = sig
		}
		manual := s.st.ManualStop
		s.mu.Unlock()
		if manual {
			s.stopOnce.Do(func() { close(s.stopCh) })
		}
		if cancel != nil {
			cancel()
		}
		return nil
	}
	if proxy {
		s.forwarded++
	}
	force := s.forwarded >= forceAfter
	s.mu.Unlock()
	if !proxy {
		s.r.emit(s.rec, "kill", signalAttr(sig))
	}
	if force && vm != nil {
		return vm.Kill()
	}
	err := p.Signal(sig)
	if sig == syscall.SIGKILL || sig == stopSignal(s.rec) {
		s.resumeToEnd()
	}
	if sig == syscall.SIGKILL && !proxy && vm != nil {
		// The caller waits for the box to go down: a guest that does not
		// carry the SIGKILL out has its VM stopped, as stop does.
		go func() {
			select {
			case <-p.Done():
			case <-time.After(killGrace):
				_ = vm.Kill()
			}
		}()
	}
	return err
}

// killGrace is how long a SIGKILL has to end the main process before the
// VM itself is stopped.
const killGrace = 5 * time.Second

// resumeToEnd unpauses a paused box after a signal that ends it was
// sent, as Docker does: a frozen process takes no signal, not even
// SIGKILL, until it thaws, and asking the user to unpause first would
// let the box run again in between.
func (s *supervisor) resumeToEnd() {
	s.mu.Lock()
	paused := s.st.Status == spec.StatusPaused
	s.mu.Unlock()
	if paused {
		if err := s.pause(false); err != nil {
			fmt.Fprintf(os.Stderr, "box %s: unpause to stop it: %v\n", s.rec.Name, err)
		}
	}
}

// pause freezes the box: first its processes, in the guest (the guest's
// cgroup freezer, which none of them can see, while guestinit goes on
// answering), then every vCPU of the VM through the VMM's monitor, so a
// paused box takes no CPU. Unpause does the reverse. Reading or writing a
// paused box's files (or listing its processes) lets the vCPUs run for
// that time alone (holdVM): the box's processes stay frozen.
func (s *supervisor) pause(freeze bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.vm == nil || s.proc == nil || s.guest == nil:
		return fmt.Errorf("box %s is not running", s.rec.Name)
	case freeze && s.st.Status == spec.StatusPaused:
		return fmt.Errorf("box %s is already paused", s.rec.Name)
	case !freeze && s.st.Status != spec.StatusPaused:
		return fmt.Errorf("box %s is not paused", s.rec.Name)
	}
	status, action := spec.StatusPaused, "pause"
	if !freeze {
		status, action = spec.StatusRunning, "unpause"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fail := func(err error) error { return fmt.Errorf("%s box %s: %w", action, s.rec.Name, err) }
	if freeze {
		if err := s.guest.Freeze(ctx, true); err != nil {
			return fail(err)
		}
		if s.vmHolds == 0 {
			if err := vmm.QMPCommand(ctx, s.r.qmpSocket(s.rec.ID), "stop"); err != nil {
				_ = s.guest.Freeze(ctx, false)
				return fail(err)
			}
		}
	} else {
		if s.vmHolds == 0 {
			if err := vmm.QMPCommand(ctx, s.r.qmpSocket(s.rec.ID), "cont"); err != nil {
				return fail(err)
			}
		}
		if err := s.guest.Freeze(ctx, false); err != nil {
			return fail(err)
		}
	}
	s.st.Status = status
	_ = s.r.saveState(s.rec.ID, s.st)
	s.r.emit(s.rec, action, nil)
	return nil
}

// holdVM lets a paused box's vCPUs run until release is called; the
// caller holds s.mu.
func (s *supervisor) holdVM() (release func(), err error) {
	if s.vmHolds == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := vmm.QMPCommand(ctx, s.r.qmpSocket(s.rec.ID), "cont"); err != nil {
			return nil, err
		}
	}
	s.vmHolds++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.vmHolds--; s.vmHolds > 0 || s.st.Status != spec.StatusPaused || s.vm == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := vmm.QMPCommand(ctx, s.r.qmpSocket(s.rec.ID), "stop"); err != nil {
			fmt.Fprintf(os.Stderr, "box %s: stop the paused VM again: %v\n", s.rec.Name, err)
		}
	}, nil
}

// stopSignal is the box's effective stop signal.
func stopSignal(rec *BoxRecord) syscall.Signal {
	if sig, err := ParseSignal(rec.StopSignal); err == nil && rec.StopSignal != "" {
		return sig
	}
	return syscall.SIGTERM
}

// healthLoop runs the health command while the main process runs.
func (s *supervisor) healthLoop(ctx context.Context, g *Guest, started time.Time) {
	h := s.rec.Health
	for {
		s.mu.Lock()
		status := s.st.Health.Status
		s.mu.Unlock()
		inStart := time.Since(started) < h.StartPeriod.D()
		interval := h.Interval.D()
		if inStart && status == spec.HealthStarting {
			interval = h.StartInterval.D()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		s.mu.Lock()
		paused := s.st.Status == spec.StatusPaused
		s.mu.Unlock()
		if paused {
			continue
		}
		res := checkHealth(ctx, g, s.rec.Main, h)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		changed := s.st.Health.record(res, time.Since(started) < h.StartPeriod.D(), h.Retries)
		status = s.st.Health.Status
		_ = s.r.saveState(s.rec.ID, s.st)
		s.mu.Unlock()
		if changed {
			s.r.emit(s.rec, "health_status: "+status, nil)
		}
	}
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func (r *Runtime) qmpSocket(id string) string { return filepath.Join(r.runDir(id), "qmp.sock") }
func (r *Runtime) rwDisk(id string) string    { return filepath.Join(r.boxDir(id), "rw.ext4") }
