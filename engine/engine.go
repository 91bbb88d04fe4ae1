package engine

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
)

// Engine runs boxes under one a3s-box root directory.
type Engine struct {
	rt *runtime.Runtime
	// rr is rt as the reconciler drives it.
	rr    reconcile.Runtime
	store *reconcile.Store
}

// Options are what Open needs beyond the runtime's configuration.
type Options struct {
	// Binary is the a3s-box binary that supervises each box
	// (`a3s-box supervise ID`). The CLI is that binary and leaves it
	// empty; a Go program that embeds the engine names it.
	Binary string
	// Warn gets the runtime's warnings (an unusable accelerator, a
	// configuration it ignores); nil discards them.
	Warn io.Writer
}

// Open opens the root directory cfg names, repairs what a crashed
// a3s-box left behind, and returns its engine.
func Open(ctx context.Context, cfg *runtime.Config, o Options) (*Engine, error) {
	cfg.Warn = o.Warn
	if cfg.Warn == nil {
		cfg.Warn = io.Discard
	}
	rt, err := runtime.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	bin := o.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the a3s-box binary: %w", err)
		}
	}
	rt.SupervisorCommand = runtime.NewSupervisorCommand(bin, []string{"--root", cfg.Root, "--accel", rt.Accel.Name})
	e := New(rt)
	// What a killed a3s-box left between a box change and its
	// desired-state edit is finished before anything else.
	if err := e.repair(ctx); err != nil {
		fmt.Fprintf(cfg.Warn, "a3s-box: warning: %v\n", err)
	}
	return e, nil
}

// New returns the engine of an open runtime.
func New(rt *runtime.Runtime) *Engine {
	return &Engine{rt: rt, rr: ReconcileRuntime(rt), store: reconcile.NewStore(rt.Root())}
}

// Root is the state directory.
func (e *Engine) Root() string { return e.rt.Root() }
