package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// An intent is the desired-state edit that is to follow a box change,
// written before the change and dropped after the edit. Its writer holds
// <id>.lock while it lives, so an intent whose lock nobody holds was left
// by a process that died between the two; repair then finishes it.

// Intent operations.
const (
	opCreate = "create" // the box joins the implicit stack
	opRemove = "remove" // the box leaves the implicit stack
	opStop   = "stop"   // the box's stack wants it stopped
	opStart  = "start"  // the box's stack wants it running
	opUpdate = "update" // the box's stack takes its new settings
	opRename = "rename" // the box's entry in the implicit stack takes its new name
)

type intent struct {
	Op    string `json:"op"`
	Stack string `json:"stack,omitempty"`
	Box   string `json:"box"` // its name in the stack (the implicit stack: the box's name)
	ID    string `json:"id,omitempty"`
	// Spec is the box a create records.
	Spec *spec.Box `json:"spec,omitempty"`
	// Stopped is whether a create records the box wanted stopped.
	Stopped bool `json:"stopped,omitempty"`
	// Changes and Hash are an update's changes and the config hash the
	// box carries once they are made.
	Changes *runtime.Changes `json:"changes,omitempty"`
	Hash    string           `json:"hash,omitempty"`
	// NewName is a rename's.
	NewName string `json:"newName,omitempty"`
}

// pending is an intent being carried out by this process.
type pending struct {
	path string // <id>.json; the lock is <id>.lock
	lock *statefile.Lock
	in   intent
}

func (e *Engine) intentsDir() string { return filepath.Join(e.rt.Root(), "intents") }

// begin records in and holds it until done or commit.
func (e *Engine) begin(ctx context.Context, in intent) (*pending, error) {
	dir := e.intentsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	base := filepath.Join(dir, hex.EncodeToString(id[:]))
	l, err := statefile.Acquire(ctx, base+".lock")
	if err != nil {
		return nil, err
	}
	p := &pending{path: base + ".json", lock: l, in: in}
	if err := statefile.WriteJSON(p.path, &in); err != nil {
		p.done()
		return nil, fmt.Errorf("record intent to %s %s: %w", in.Op, in.Box, err)
	}
	crashPoint(in.Op + ":before")
	return p, nil
}

// commit makes the intent's desired-state edit and drops it. The box
// change it follows has been made.
func (p *pending) commit(ctx context.Context, e *Engine) error {
	crashPoint(p.in.Op)
	defer p.done()
	if err := e.edit(ctx, p.in); err != nil {
		return fmt.Errorf("record %s of box %s in stack %s: %w", p.in.Op, p.in.Box, p.in.Stack, err)
	}
	return nil
}

// done drops the intent: the box change failed, or its edit is made.
func (p *pending) done() {
	os.Remove(p.path)
	os.Remove(strings.TrimSuffix(p.path, ".json") + ".lock")
	p.lock.Release()
}

// edit is an intent's desired-state edit.
func (e *Engine) edit(ctx context.Context, in intent) error {
	switch in.Op {
	case opCreate:
		return e.recordBox(ctx, *in.Spec, in.Stopped)
	case opRemove:
		return e.forgetBox(ctx, in.Stack, in.Box)
	case opStop, opStart:
		return e.markStopped(ctx, in.Stack, in.Box, in.Op == opStop)
	case opUpdate:
		return e.recordUpdate(ctx, in.Stack, in.Box, *in.Changes)
	case opRename:
		return e.renameBox(ctx, in.Box, in.NewName)
	}
	return fmt.Errorf("unknown intent %q", in.Op)
}

// took reports whether the box change an intent follows took effect, as
// the box shows now.
func (e *Engine) took(in intent) (bool, error) {
	ref := in.ID
	if ref == "" {
		ref = in.Box
	}
	b, err := e.rt.Lookup(ref)
	if errors.Is(err, runtime.ErrNoSuchBox) {
		return in.Op == opRemove, nil
	}
	if err != nil {
		return false, err
	}
	stack, name := owner(b)
	switch in.Op {
	case opCreate:
		return stack == in.Stack && name == in.Box, nil
	case opStop:
		return !b.State.Running(), nil
	case opStart:
		return b.State.Running(), nil
	case opUpdate:
		return b.Spec.Labels[reconcile.LabelHash] == in.Hash, nil
	case opRename:
		return b.Name == in.NewName && name == in.NewName, nil
	}
	return false, nil
}

// repair finishes the intents of processes that died: each edit is made
// if its box change took effect, and dropped otherwise.
func (e *Engine) repair(ctx context.Context) error {
	entries, err := os.ReadDir(e.intentsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("intents: %w", err)
	}
	var errs []error
	for _, en := range entries {
		base, ok := strings.CutSuffix(en.Name(), ".lock")
		if !ok {
			continue
		}
		base = filepath.Join(e.intentsDir(), base)
		l, err := statefile.TryLock(base + ".lock")
		if err != nil {
			continue // its process is still at work
		}
		p := &pending{path: base + ".json", lock: l}
		if err := statefile.ReadJSON(p.path, &p.in); err != nil {
			p.done() // died before it wrote the intent, or finished meanwhile
			continue
		}
		ok, err = e.took(p.in)
		if err == nil && ok {
			err = e.edit(ctx, p.in)
		}
		if err != nil {
			l.Release()
			errs = append(errs, fmt.Errorf("repair intent to %s box %s: %w", p.in.Op, p.in.Box, err))
			continue
		}
		p.done()
	}
	return errors.Join(errs...)
}

// crashPoint kills the process between a box change and its
// desired-state edit when A3S_BOX_TEST_CRASH names the operation (or
// before the box change, for OP:before), so that tests can show the next
// command repairing it.
func crashPoint(op string) {
	if os.Getenv("A3S_BOX_TEST_CRASH") == op {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
