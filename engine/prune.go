package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// Active reports a box that is up or on its way back up: what prune
// leaves and what `system df` counts as active.
func Active(b *runtime.Box) bool {
	return b.State.Running() || b.State.Status == spec.StatusRestarting
}

// PruneBoxes removes the boxes that are not running (created, exited,
// dead) that match selects, each leaving its desired state as rm's does;
// it returns their IDs and the bytes their writable disks took.
func (e *Engine) PruneBoxes(ctx context.Context, match func(*runtime.Box) bool) ([]string, int64, error) {
	boxes, err := e.rt.Boxes()
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	var freed int64
	for _, b := range boxes {
		// A box whose record cannot be read goes only by rm -f.
		if Active(b) || b.State.Status == spec.StatusRemoving || b.State.Status == spec.StatusUnknown || !match(b) {
			continue
		}
		rw, _ := e.rt.BoxSize(b)
		if err := e.Remove(ctx, b, RemoveOptions{}); err != nil {
			if errors.Is(err, runtime.ErrRunning) || errors.Is(err, runtime.ErrNoSuchBox) {
				continue // started or removed meanwhile
			}
			return ids, freed, fmt.Errorf("remove box %s: %w", b.Name, err)
		}
		ids = append(ids, b.ID)
		freed += rw
	}
	return ids, freed, nil
}
