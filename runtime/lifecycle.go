package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
)

// DefaultStopTimeout is Docker's grace period between the stop signal
// and SIGKILL, in seconds.
const DefaultStopTimeout = 10

// supervised reports whether box id's supervisor runs: it holds the box's
// lock for as long as it lives.
func (r *Runtime) supervised(id string) bool {
	lock, err := statefile.TryLock(boxLockPath(r.boxDir(id)))
	if err != nil {
		return errors.Is(err, statefile.ErrLocked)
	}
	lock.Release()
	return false
}

// Start starts box id's supervisor, which boots the box. Without attach
// it returns once the main process runs; with attach, once the supervisor
// listens (the main process then waits for the caller to attach). A box
// already running is left as it is.
func (r *Runtime) Start(ctx context.Context, id string, attach bool) error {
	if r.SupervisorCommand == nil {
		return errors.New("start: no supervisor command configured")
	}
	// A supervisor whose box just ended may still hold the box while it
	// lets go of the box's ports and devices: wait for it, or the new
	// one would take the box for running.
	if b, err := r.readBox(id); err == nil && b.State.SupervisorPID == 0 && r.supervised(id) {
		if lock, err := r.waitSupervisorGone(ctx, id); err == nil {
			lock.Release()
		}
	}
	cmd := r.SupervisorCommand(id, attach)
	logf, err := os.OpenFile(filepath.Join(r.boxDir(id), "supervisor.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer pr.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, pw, logf
	// Its own session: the terminal's signals are not the box's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	go cmd.Wait() // reaps it when this process lives on (watch)
	stop := closeOnDone(ctx, pr)
	defer stop()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("start: the supervisor exited before the box started%s", r.supervisorTail(id))
	}
	if line = strings.TrimSpace(line); line == "running" && !attach {
		return r.waitBooted(ctx, id)
	}
	return parseReady(line)
}

// waitBooted waits for a box whose supervisor another process started
// (an apply killed while its boxes booted) to run: start returns once the
// main process runs, whoever booted it.
func (r *Runtime) waitBooted(ctx context.Context, id string) error {
	since := time.Now()
	for {
		b, err := r.readBox(id)
		if err != nil {
			return fmt.Errorf("start: %w", err)
		}
		// A main process that ran and ended while we looked away counts.
		if b.State.Running() || b.State.FinishedAt.After(since) {
			return nil
		}
		if !r.supervised(id) {
			return fmt.Errorf("start: the supervisor exited before the box started%s", r.supervisorTail(id))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// parseReady reads a supervisor's ready line.
func parseReady(line string) error {
	if line == "ok" || line == "running" {
		return nil
	}
	rest, ok := strings.CutPrefix(line, "error ")
	if !ok {
		return fmt.Errorf("start: unexpected word from the supervisor: %q", line)
	}
	codeText, msg, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil {
		return fmt.Errorf("start: %s", rest)
	}
	if code == 125 {
		return errors.New(msg)
	}
	return &StartError{Code: code, Message: msg}
}

func (r *Runtime) supervisorTail(id string) string {
	b, err := os.ReadFile(filepath.Join(r.boxDir(id), "supervisor.log"))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return ": " + lines[len(lines)-1]
}

// Stop stops box id: its stop signal (or sig when non-zero), then SIGKILL
// after timeout seconds (negative waits for ever). A box that is not
// running is left as it is.
func (r *Runtime) Stop(ctx context.Context, id string, sig syscall.Signal, timeout int) error {
	b, err := r.readBox(id)
	if err != nil {
		return err
	}
	if sig == 0 {
		sig = stopSignal(b.BoxRecord)
	}
	_, err = r.request(ctx, id, &supRequest{Op: "stop", Signal: int(sig), Timeout: timeout})
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	return r.waitDown(ctx, id)
}

// waitDown waits until box id is down for good: its supervisor has let
// go of it (its ports and network devices too), so a start or a remove
// right after finds it free.
func (r *Runtime) waitDown(ctx context.Context, id string) error {
	lock, err := r.waitSupervisorGone(ctx, id)
	if lock != nil {
		lock.Release()
	}
	if os.IsNotExist(err) {
		return nil // removed on exit (--rm)
	}
	return err
}

// waitSupervisorGone waits until box id's supervisor has exited, which
// releases the box's lock, and returns the lock, held. A box removed
// meanwhile (--rm) gives an error satisfying os.IsNotExist.
func (r *Runtime) waitSupervisorGone(ctx context.Context, id string) (*statefile.Lock, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		lock, err := statefile.TryLock(boxLockPath(r.boxDir(id)))
		if err == nil {
			return lock, nil
		}
		if !errors.Is(err, statefile.ErrLocked) {
			if _, serr := os.Stat(r.boxDir(id)); os.IsNotExist(serr) {
				return nil, serr
			}
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("box %s: its supervisor did not exit", id[:12])
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// StopTimeout is the grace period a box asked for, in seconds.
func StopTimeout(b *Box) int {
	if b.Spec.StopGracePeriod != nil {
		return int(b.Spec.StopGracePeriod.D() / time.Second)
	}
	return DefaultStopTimeout
}

// Kill sends sig to box id's main process. A SIGKILL returns once the
// box is down, as Docker's kill does, so an rm right after finds it
// stopped; any other signal is only delivered, since the box may well
// go on running.
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal) error {
	_, err := r.request(ctx, id, &supRequest{Op: "kill", Signal: int(sig)})
	if errors.Is(err, ErrNotRunning) {
		return fmt.Errorf("cannot kill box %s: %w", id[:12], err)
	}
	if err != nil || sig != syscall.SIGKILL {
		return err
	}
	return r.waitDown(ctx, id)
}

// Pause freezes box id's VM; Unpause resumes it.
func (r *Runtime) Pause(ctx context.Context, id string, freeze bool) error {
	op := "pause"
	if !freeze {
		op = "unpause"
	}
	_, err := r.request(ctx, id, &supRequest{Op: op})
	if errors.Is(err, ErrNotRunning) {
		return fmt.Errorf("cannot %s box %s: %w", op, id[:12], err)
	}
	return err
}

// Wait blocks until box id's main process ends and returns its exit code;
// a box that is not running answers at once with its last exit code.
func (r *Runtime) Wait(ctx context.Context, id string) (int, error) {
	rep, err := r.request(ctx, id, &supRequest{Op: "wait"})
	if err == nil {
		return rep.ExitCode, nil
	}
	if !errors.Is(err, ErrNotRunning) {
		return 0, err
	}
	b, err := r.readBox(id)
	if err != nil {
		return 0, err
	}
	return b.State.ExitCode, nil
}

// ErrRunning is a change that needs the box stopped.
var ErrRunning = errors.New("box is running")

// Remove deletes box id. A running box is refused unless force, which
// kills it first. Its volumes stay.
func (r *Runtime) Remove(ctx context.Context, id string, force bool) error {
	return r.remove(ctx, id, force, false)
}

// RemoveWithVolumes is Remove that also removes the box's anonymous
// volumes that no other box uses (rm -v); named volumes always stay.
func (r *Runtime) RemoveWithVolumes(ctx context.Context, id string, force bool) error {
	return r.remove(ctx, id, force, true)
}

func (r *Runtime) remove(ctx context.Context, id string, force, volumes bool) error {
	b, err := r.readBox(id)
	var bad *UnreadableError
	if errors.As(err, &bad) && force {
		// Its record is lost, so is its name: the ID stands in.
		b, err = r.unknownBox(id, bad.Err), nil
		b.Name = id[:12]
	}
	if err != nil {
		return err
	}
	if r.supervised(id) {
		if !force {
			return fmt.Errorf("%w: cannot remove box %s: stop the box before removing or force remove (rm -f)", ErrRunning, b.Name)
		}
		if _, err := r.request(ctx, id, &supRequest{Op: "stop", Signal: int(syscall.SIGKILL), Timeout: 0}); err != nil && !errors.Is(err, ErrNotRunning) {
			return fmt.Errorf("remove box %s: %w", b.Name, err)
		}
	}
	// The supervisor releases the lock as it exits.
	lock, err := r.waitSupervisorGone(ctx, id)
	if os.IsNotExist(err) {
		return nil // removed on exit meanwhile (--rm)
	}
	if err != nil {
		return fmt.Errorf("remove box %s: %w", b.Name, err)
	}
	defer lock.Release()
	if err := r.removeBox(id); err != nil {
		return err
	}
	r.emit(b.BoxRecord, "destroy", nil)
	if volumes {
		return r.removeAnonymousVolumes(ctx, b.Mounts)
	}
	return nil
}

// Rename gives box id a new name.
func (r *Runtime) Rename(ctx context.Context, id, name string) error {
	if !validName(name) {
		return fmt.Errorf("invalid box name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	root, err := statefile.Acquire(ctx, r.rootLock())
	if err != nil {
		return err
	}
	defer root.Release()
	b, err := r.readBox(id)
	if err != nil {
		return err
	}
	if other := r.findByName(name); other != "" {
		return fmt.Errorf("%w: the box name %q is already in use by box %s", ErrNameInUse, name, other[:12])
	}
	old := b.Name
	b.Name = name
	if err := statefile.WriteJSON(filepath.Join(r.boxDir(id), "config.json"), b.BoxRecord); err != nil {
		return fmt.Errorf("rename box %s: %w", old, err)
	}
	r.emit(b.BoxRecord, "rename", map[string]string{"oldName": old})
	return nil
}

// validName is Docker's container name rule.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '_' && c != '.' && c != '-')) {
			return false
		}
	}
	return true
}

// NewSupervisorCommand is how a CLI runs the supervisor: the same binary
// with a hidden verb.
func NewSupervisorCommand(exe string, globalArgs []string) func(id string, attach bool) *exec.Cmd {
	return func(id string, attach bool) *exec.Cmd {
		args := append(append([]string(nil), globalArgs...), "supervise")
		if attach {
			args = append(args, "--attach")
		}
		return exec.Command(exe, append(args, id)...)
	}
}
