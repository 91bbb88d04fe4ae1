package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
)

// BoxRecord is a box's configuration on disk (config.json): written once
// when the box is created.
type BoxRecord struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Created     time.Time   `json:"created"`
	Spec        spec.Box    `json:"spec"`
	ImageRef    string      `json:"imageRef"`
	ImageDigest string      `json:"imageDigest"`
	ImageID     string      `json:"imageId"`
	Rootfs      string      `json:"rootfs"`
	Hostname    string      `json:"hostname"`
	Main        *proto.Exec `json:"main"`
	// Health is the effective health check: the box's over the image's;
	// nil when there is none.
	Health *spec.Healthcheck `json:"health,omitempty"`
	// StopSignal is the effective stop signal: the box's over the image's.
	StopSignal string `json:"stopSignal,omitempty"`
	// Mounts are the box's volumes, bind mounts and tmpfs mounts, its
	// anonymous volumes named.
	Mounts []Mount `json:"mounts,omitempty"`
}

// BoxState is a box's run state on disk (state.json), written only by the
// holder of the box's lock: its supervisor while it runs.
type BoxState struct {
	Status   string `json:"status"`
	VMMPID   int    `json:"vmmPid,omitempty"`
	VMMStart uint64 `json:"vmmStart,omitempty"` // fences VMMPID against PID reuse
	// VCPUs and Memory (bytes) are what the running VM has: what it
	// booted with, less what a balloon holds after an update.
	VCPUs  int   `json:"vcpus,omitempty"`
	Memory int64 `json:"memory,omitempty"`
	// SupervisorPID is the box's supervisor, while one runs.
	SupervisorPID int       `json:"supervisorPid,omitempty"`
	PID           int       `json:"pid,omitempty"` // main process, in the guest
	ExitCode      int       `json:"exitCode"`
	Error         string    `json:"error,omitempty"`
	StartedAt     time.Time `json:"startedAt,omitempty"`
	FinishedAt    time.Time `json:"finishedAt,omitempty"`
	RestartCount  int       `json:"restartCount,omitempty"`
	// ManualStop is set by stop and kill: restart policies other than
	// always leave such a box down.
	ManualStop bool    `json:"manualStop,omitempty"`
	Health     *Health `json:"health,omitempty"`
	// Ports are the published ports as the supervisor bound them.
	Ports []network.Binding `json:"ports,omitempty"`
}

// Running reports a box whose VM is up (running or paused).
func (s *BoxState) Running() bool {
	return s.Status == spec.StatusRunning || s.Status == spec.StatusPaused
}

// ErrNameInUse is Docker's name conflict.
var ErrNameInUse = errors.New("name already in use")

func (r *Runtime) boxesDir() string            { return filepath.Join(r.root, "boxes") }
func (r *Runtime) boxDir(id string) string     { return filepath.Join(r.boxesDir(), id) }
func (r *Runtime) rootLock() string            { return filepath.Join(r.root, "lock") }
func boxLockPath(dir string) string            { return filepath.Join(dir, "lock") }
func (r *Runtime) runDir(id string) string     { return filepath.Join(r.runBase, id[:12]) }
func (r *Runtime) socketPath(id string) string { return filepath.Join(r.runDir(id), "ctl.sock") }

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// createBox reserves the box's name and writes its record. It returns the
// box's lock, held: the box belongs to the caller until it releases it.
func (r *Runtime) createBox(ctx context.Context, rec *BoxRecord) (*statefile.Lock, error) {
	root, err := statefile.Acquire(ctx, r.rootLock())
	if err != nil {
		return nil, err
	}
	defer root.Release()
	if rec.Name == "" {
		rec.Name = r.freeName()
	} else if r.findByName(rec.Name) != "" {
		return nil, fmt.Errorf("%w: the box name %q is already in use; remove that box or choose another name", ErrNameInUse, rec.Name)
	}
	dir := r.boxDir(rec.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create box %s: %w", rec.Name, err)
	}
	lock, err := statefile.TryLock(boxLockPath(dir))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := statefile.WriteJSON(filepath.Join(dir, "state.json"), &BoxState{Status: spec.StatusCreated}); err == nil {
		err = statefile.WriteJSON(filepath.Join(dir, "config.json"), rec)
	}
	if err != nil {
		lock.Release()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create box %s: %w", rec.Name, err)
	}
	return lock, nil
}

func (r *Runtime) findByName(name string) string {
	entries, _ := os.ReadDir(r.boxesDir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // being removed
		}
		var rec BoxRecord
		if statefile.ReadJSON(filepath.Join(r.boxesDir(), e.Name(), "config.json"), &rec) == nil && rec.Name == name {
			return rec.ID
		}
	}
	return ""
}

// FreeName picks a generated name no box has, Docker's adjective_name.
func (r *Runtime) FreeName() string { return r.freeName() }

func (r *Runtime) freeName() string {
	for {
		if n := randomName(); r.findByName(n) == "" {
			return n
		}
	}
}

func (r *Runtime) saveState(id string, st *BoxState) error {
	return statefile.WriteJSON(filepath.Join(r.boxDir(id), "state.json"), st)
}

// removedPrefix names a box folder being removed: the rename makes the
// box go at once and whole, and the repair pass finishes a removal that
// crashed.
const removedPrefix = ".removed-"

// removeBox deletes a box's directory and sockets; the caller holds its lock.
func (r *Runtime) removeBox(id string) error {
	if r.Networks != nil {
		if err := r.Networks.Release(context.Background(), id); err != nil {
			return fmt.Errorf("remove box %s: %w", id[:12], err)
		}
	}
	os.RemoveAll(r.runDir(id))
	gone := filepath.Join(r.boxesDir(), removedPrefix+id)
	if err := os.Rename(r.boxDir(id), gone); err != nil {
		return fmt.Errorf("remove box %s: %w", id[:12], err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove box %s: %w", id[:12], err)
	}
	return nil
}

// repair finishes what a crashed supervisor left: a box whose lock nobody
// holds but which is recorded as running lost its supervisor. Its VMM, if
// it still runs (fenced by start time), is killed; the box is marked
// exited, or removed when it was to be removed on exit, and the user is
// told which.
func (r *Runtime) repair(ctx context.Context) error { return r.Repair(ctx) }

// Repair is the repair pass, for a long-lived caller (the watcher) that
// must notice supervisors that died since it started.
func (r *Runtime) Repair(ctx context.Context) error {
	root, err := statefile.Acquire(ctx, r.rootLock())
	if err != nil {
		return err
	}
	// The anonymous volumes of --rm boxes go after the root lock is
	// released: creates take the volume lock before the root lock.
	var anonymous []Mount
	defer func() {
		root.Release()
		_ = r.removeAnonymousVolumes(ctx, anonymous)
	}()
	entries, _ := os.ReadDir(r.boxesDir())
	for _, e := range entries {
		dir := filepath.Join(r.boxesDir(), e.Name())
		lock, err := statefile.TryLock(boxLockPath(dir))
		if err != nil {
			continue // owned by a live process
		}
		if strings.HasPrefix(e.Name(), removedPrefix) {
			// A removal that crashed after its rename: finish it.
			os.RemoveAll(dir)
			lock.Release()
			continue
		}
		var st BoxState
		stErr := statefile.ReadJSON(filepath.Join(dir, "state.json"), &st)
		recp, recErr := r.readRecord(e.Name())
		var bad *UnreadableError
		switch {
		case errors.As(recErr, &bad):
			// Kept, its disk with it: only rm -f removes such a box.
			// A VM it left running is stopped all the same.
			if stErr == nil && st.VMMPID != 0 {
				host.KillFenced(st.VMMPID, st.VMMStart)
				host.RemoveBoxCgroup(bad.ID)
				os.RemoveAll(r.runDir(bad.ID))
				st.VMMPID, st.VMMStart, st.SupervisorPID, st.PID = 0, 0, 0, 0
				_ = r.saveState(bad.ID, &st)
				r.warnf("%v; its supervisor is gone, so its VM was stopped", bad)
			}
			lock.Release()
			continue
		case recErr != nil:
			if boxIDPattern(e.Name()) {
				// Created but never recorded: nothing else refers to it.
				os.RemoveAll(dir)
			}
			lock.Release()
			continue
		}
		rec := *recp
		if stErr != nil || !(st.Running() || st.Status == spec.StatusRestarting || st.Status == spec.StatusRemoving) {
			// Created or exited: such a box has no supervisor.
			lock.Release()
			continue
		}
		host.KillFenced(st.VMMPID, st.VMMStart)
		host.RemoveBoxCgroup(rec.ID)
		os.RemoveAll(r.runDir(rec.ID))
		if rec.Spec.AutoRemove {
			r.removeBox(rec.ID)
			anonymous = append(anonymous, rec.Mounts...)
			r.warnf("box %s: its supervisor is gone; stopped its VM and removed the box (--rm)", rec.Name)
		} else {
			st.Status, st.ExitCode, st.FinishedAt = spec.StatusExited, 255, time.Now().UTC()
			st.Error = "the box's supervisor exited while the box was running"
			st.VMMPID, st.VMMStart, st.SupervisorPID, st.PID, st.VCPUs, st.Memory = 0, 0, 0, 0, 0, 0
			st.Ports = nil
			_ = r.saveState(rec.ID, &st)
			r.warnf("box %s: its supervisor is gone; stopped its VM and marked the box exited (255)", rec.Name)
		}
		r.emit(&rec, "die", map[string]string{"exitCode": "255"})
		lock.Release()
	}
	return nil
}

func (r *Runtime) warnf(format string, args ...any) {
	if r.Config.Warn != nil {
		fmt.Fprintf(r.Config.Warn, "a3s-box: "+format+"\n", args...)
	}
}

var adjectives = strings.Fields("agile bold brave calm clever eager fancy gentle happy jolly keen lucid merry nimble quiet rapid serene sharp swift witty")
var nouns = strings.Fields("babbage curie darwin euler faraday galois hopper kepler lovelace noether pascal ritchie shannon tesla thompson turing volta wozniak yalow zuse")

func randomName() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return adjectives[int(b[0])%len(adjectives)] + "_" + nouns[int(b[1])%len(nouns)]
}
