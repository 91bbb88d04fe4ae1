package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

// ImplicitStack holds the boxes made by imperative verbs (run -d, create)
// outside any stack file. Its name cannot name a user's stack.
const ImplicitStack = "_boxes"

// ErrNoStack is returned for a stack the store does not hold.
var ErrNoStack = errors.New("no such stack")

// Source kinds: where a stack's desired state came from.
const (
	SourceFile       = "file"       // a stack or compose file
	SourceDir        = "dir"        // a directory applied or watched
	SourceStdin      = "stdin"      // apply -f -
	SourceImperative = "imperative" // run -d, create, start, stop, rm
)

// Source is where a stack's desired state came from; the watcher removes
// the stacks of a file that is deleted.
type Source struct {
	Kind string `json:"kind"`
	Path string `json:"path,omitempty"` // absolute, for SourceFile and SourceDir
	// Files are every file a compose project was read from (its main
	// file, overrides and -f files), absolute, when there are several.
	Files []string `json:"files,omitempty"`
}

// StackRecord is one stack's desired state and last status, kept in
// <root>/stacks/<name>.json.
type StackRecord struct {
	Name   string `json:"name"`
	Source Source `json:"source"`
	// Generation counts the changes of the desired state: it grows by one
	// whenever Stack, Boxes or Source changes.
	Generation int64      `json:"generation"`
	Stack      spec.Stack `json:"stack"`
	// Boxes holds, per box of Stack, what the desired state adds to it.
	Boxes   map[string]BoxEntry `json:"boxes"`
	Status  Status              `json:"status"`
	Updated time.Time           `json:"updated"`
}

// BoxEntry is the desired state of one box beyond its spec.
type BoxEntry struct {
	// Hash is ConfigHash of the box, kept up to date by the store.
	Hash string `json:"hash"`
	// Stopped asks for the box to exist without running.
	Stopped bool `json:"stopped,omitempty"`
}

// Status is what the last reconcile of a stack found and did, for
// `stacks` and `stack inspect`.
type Status struct {
	// ObservedGeneration is the Generation the last reconcile worked
	// from; below Generation, the machine may not match yet.
	ObservedGeneration int64 `json:"observedGeneration"`
	// Boxes are the stack's boxes by runtime name, one per replica.
	Boxes map[string]BoxStatus `json:"boxes,omitempty"`
	Error string               `json:"error,omitempty"` // the last reconcile's, if it failed
	Time  time.Time            `json:"time,omitzero"`
}

// BoxStatus is one box's state after the last reconcile.
type BoxStatus struct {
	State string `json:"state"` // runtime.Status*
	Error string `json:"error,omitempty"`
}

// Desired returns the stack's boxes as the planner takes them, one per
// replica.
func (r *StackRecord) Desired() []DesiredBox {
	out := make([]DesiredBox, 0, len(r.Stack.Boxes))
	s := r.Stack
	s.Name = r.Name
	for _, name := range r.Stack.BoxNames() {
		e := r.Boxes[name]
		out = appendReplicas(out, DesiredBox{Stack: r.Name, Name: name, Spec: machineBox(&s, r.Name, name), Hash: e.Hash, Stopped: e.Stopped})
	}
	return out
}

// DesiredFromStack returns a stack's boxes as the planner takes them, one
// per replica, all wanted running, hashing each: for `plan -f`, which
// reads a file and writes nothing.
func DesiredFromStack(s *spec.Stack) []DesiredBox {
	out := make([]DesiredBox, 0, len(s.Boxes))
	for _, name := range s.BoxNames() {
		out = appendReplicas(out, DesiredBox{Stack: s.Name, Name: name, Spec: machineBox(s, s.Name, name), Hash: ConfigHash(s, name)})
	}
	return out
}

// appendReplicas appends d's replicas 1..N, N being its box's scale; a box
// of the implicit stack is always one. A box scaled to zero is one entry
// with Index 0, so that Plan knows the stack still has it (its boxes are
// scaled away, not orphans).
func appendReplicas(out []DesiredBox, d DesiredBox) []DesiredBox {
	n := d.Spec.Scale()
	if d.Stack == ImplicitStack {
		n = 1
	}
	if n == 0 {
		return append(out, d)
	}
	for i := 1; i <= n; i++ {
		d.Index = i
		out = append(out, d)
	}
	return out
}

// Store is the desired state on disk: one JSON file per stack under
// <root>/stacks, each replaced atomically, every write made under one lock
// (<root>/stacks/lock) so that concurrent a3s-box processes never lose an
// update. Reads take no lock: a file is always whole.
type Store struct{ dir string }

// NewStore returns the store under the a3s-box root directory.
func NewStore(root string) *Store { return &Store{dir: filepath.Join(root, "stacks")} }

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".json") }

func checkName(name string) error {
	if name == ImplicitStack {
		return nil
	}
	return spec.CheckStackName(name)
}

// locked runs fn for the stack name under the store's lock, making the
// directory on first use.
func (s *Store) locked(ctx context.Context, name string, fn func() error) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("stacks: %w", err)
	}
	l, err := statefile.Acquire(ctx, filepath.Join(s.dir, "lock"))
	if err != nil {
		return err
	}
	defer l.Release()
	return fn()
}

// Get returns a stack's record, or an error wrapping ErrNoStack.
func (s *Store) Get(name string) (*StackRecord, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var r StackRecord
	if err := statefile.ReadJSON(s.path(name), &r); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoStack, name)
		}
		return nil, err
	}
	return &r, nil
}

// List returns every stack's record, by name.
func (s *Store) List() ([]*StackRecord, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stacks: %w", err)
	}
	var out []*StackRecord
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || checkName(name) != nil {
			continue
		}
		r, err := s.Get(name)
		if errors.Is(err, ErrNoStack) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *StackRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Put makes st, from src, a stack's whole desired state, every box wanted
// running: what `apply` does. It reports whether anything changed; an
// unchanged stack keeps its generation.
func (s *Store) Put(ctx context.Context, st *spec.Stack, src Source) (rec *StackRecord, changed bool, err error) {
	return s.update(ctx, st.Name, true, func(r *StackRecord) error {
		r.Stack, r.Source = *st, src
		for name, e := range r.Boxes {
			e.Stopped = false
			r.Boxes[name] = e
		}
		return nil
	})
}

// Update edits a stack's desired state under the store's lock: fn gets
// the current record (an empty one for a stack not yet stored, such as
// the implicit stack's first box) and may change Stack, Boxes' Stopped
// and Source; the store then refreshes the hashes and bumps the
// generation if anything changed. An error from fn writes nothing.
func (s *Store) Update(ctx context.Context, name string, fn func(*StackRecord) error) (*StackRecord, error) {
	rec, _, err := s.update(ctx, name, true, fn)
	return rec, err
}

// SetStatus records the outcome of a reconcile; it leaves the desired
// state and its generation alone.
func (s *Store) SetStatus(ctx context.Context, name string, st Status) error {
	_, _, err := s.update(ctx, name, false, func(r *StackRecord) error {
		r.Status = st
		return nil
	})
	return err
}

// Delete removes a stack's desired state; a stack not stored is not an
// error.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.locked(ctx, name, func() error {
		if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete stack %s: %w", name, err)
		}
		return statefile.SyncDir(s.dir)
	})
}

// update is the read-modify-write of one record under the lock. With
// create set, a missing record starts empty; otherwise it is an error.
func (s *Store) update(ctx context.Context, name string, create bool, fn func(*StackRecord) error) (out *StackRecord, changed bool, err error) {
	err = s.locked(ctx, name, func() error {
		r, err := s.Get(name)
		switch {
		case errors.Is(err, ErrNoStack) && create:
			r = &StackRecord{Name: name, Stack: spec.Stack{Name: name, Boxes: map[string]spec.Box{}}}
		case err != nil:
			return err
		}
		before := desiredJSON(r)
		if err := fn(r); err != nil {
			return err
		}
		if r.Stack.Name != name {
			return fmt.Errorf("stack %s: the record's stack is named %q", name, r.Stack.Name)
		}
		r.Name = name
		boxes := make(map[string]BoxEntry, len(r.Stack.Boxes))
		for bn := range r.Stack.Boxes {
			boxes[bn] = BoxEntry{Hash: ConfigHash(&r.Stack, bn), Stopped: r.Boxes[bn].Stopped}
		}
		r.Boxes = boxes
		changed = desiredJSON(r) != before
		if changed {
			r.Generation++
		}
		if changed || !create {
			r.Updated = time.Now().UTC()
			if err := statefile.WriteJSON(s.path(name), r); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, changed, nil
}

// desiredJSON is the part of a record a change of which is a new
// generation.
func desiredJSON(r *StackRecord) string {
	b, err := json.Marshal(struct {
		Source Source
		Stack  spec.Stack
		Boxes  map[string]BoxEntry
	}{r.Source, r.Stack, r.Boxes})
	if err != nil {
		panic(err) // spec's types always encode
	}
	return string(b)
}
