package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/reconcile"
)

// lockStack holds a stack's lock for one whole apply, reconcile or
// delete, so that two a3s-box processes working on one stack take turns
// instead of both creating its networks and boxes. The store's own lock
// covers only single edits of the desired state; a reconcile is many
// runtime steps between them. The implicit stack of imperative boxes
// takes none: its boxes are independent and each edit is guarded by an
// intent. A holder that dies drops the lock with its process.
func (e *Engine) lockStack(ctx context.Context, name string) (*statefile.Lock, error) {
	if name == reconcile.ImplicitStack {
		return nil, nil
	}
	dir := filepath.Join(e.rt.Root(), "stacks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	path := filepath.Join(dir, name+".lock")
	l, err := statefile.TryLock(path)
	if err == nil || !errors.Is(err, statefile.ErrLocked) {
		return l, err
	}
	w := e.rt.Config.Warn
	if w == nil {
		w = io.Discard
	}
	fmt.Fprintf(w, "a3s-box: stack %s: waiting for another a3s-box process working on it\n", name)
	return statefile.Acquire(ctx, path)
}
