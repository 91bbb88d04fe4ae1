package main

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's child reaper. It alone calls wait4, so the status of a
// process guestinit started goes to whoever waits for it, and orphans
// re-parented to PID 1 are reaped and forgotten.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan unix.WaitStatus
	sigs    chan os.Signal
}

func newReaper() *reaper {
	r := &reaper{waiting: map[int]chan unix.WaitStatus{}, sigs: make(chan os.Signal, 32)}
	signal.Notify(r.sigs, unix.SIGCHLD)
	return r
}

// start starts a process and returns a channel that receives its status.
// The lock is held across start and registration so the reaper cannot
// collect the child before anyone waits for it.
func (r *reaper) start(path string, argv []string, attr *os.ProcAttr) (*os.Process, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	r.waiting[p.Pid] = ch
	return p, ch, nil
}

func (r *reaper) run() {
	for range r.sigs {
		r.reap()
	}
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		r.mu.Lock()
		ch := r.waiting[pid]
		delete(r.waiting, pid)
		r.mu.Unlock()
		if ch != nil {
			ch <- ws
		}
	}
}

// exitCode turns a wait status into Docker's exit code.
func exitCode(ws unix.WaitStatus) (code, sig int) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), int(ws.Signal())
	}
	return ws.ExitStatus(), 0
}
