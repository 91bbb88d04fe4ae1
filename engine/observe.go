package engine

import (
	"context"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
)

// What the engine reports about boxes: logs, events, processes, usage.

// Logs calls fn for each of a box's log entries o selects; running says
// whether to go on following.
func (e *Engine) Logs(ctx context.Context, b *runtime.Box, o runtime.LogOptions, running func() bool, fn func(*runtime.LogEntry) error) error {
	return e.rt.Logs(ctx, b.ID, o, running, fn)
}

// LogPath is the file a box's log is kept in.
func (e *Engine) LogPath(b *runtime.Box) string { return e.rt.LogPath(b.ID) }

// Events calls fn for each event between since and until (zero: no
// bound); with follow, it waits for new ones.
func (e *Engine) Events(ctx context.Context, since, until time.Time, follow bool, fn func(*runtime.Event) error) error {
	return e.rt.Events(ctx, since, until, follow, fn)
}

// Top lists a running box's processes.
func (e *Engine) Top(ctx context.Context, b *runtime.Box) (*runtime.ProcessTable, error) {
	return e.rt.Top(ctx, b.ID)
}

// Usage reads a running box's resource usage.
func (e *Engine) Usage(ctx context.Context, b *runtime.Box) (*runtime.Usage, error) {
	return e.rt.Usage(ctx, b.ID)
}

// CPUTime is the CPU time a box's VM has taken on the host.
func (e *Engine) CPUTime(b *runtime.Box) (time.Duration, error) { return e.rt.CPUTime(b) }

// BoxSize is the bytes a box's writable disk takes on the host, and its
// image's size with them.
func (e *Engine) BoxSize(b *runtime.Box) (rw, virtual int64) { return e.rt.BoxSize(b) }
