package engine

import (
	"context"
	"slices"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// ExecOptions describe a process to run in a box beside its main one.
type ExecOptions struct {
	Args []string
	// Env is added to the main process's environment, overriding it.
	Env []string
	// Dir and User default to the main process's.
	Dir, User string
	// Privileged gives the process every capability, whatever its box's
	// set (exec --privileged).
	Privileged bool
	// Tty gives the process a terminal of Rows x Cols.
	Tty        bool
	Rows, Cols uint16
}

// Exec runs a process in a running box, as `exec` does: in the main
// process's environment, user and directory unless told otherwise. pio
// with no streams runs it detached.
func (e *Engine) Exec(ctx context.Context, b *runtime.Box, o ExecOptions, pio runtime.ProcessIO) (*runtime.Process, error) {
	ex := &proto.Exec{Args: o.Args, Env: spec.MergeEnv(b.Main.Env, o.Env), Dir: b.Main.Dir, User: b.Main.User, Tty: o.Tty, Rows: o.Rows, Cols: o.Cols,
		Groups: b.Main.Groups, Caps: b.Main.Caps, Rlimits: b.Main.Rlimits, NoNewPrivs: b.Main.NoNewPrivs}
	if o.Privileged {
		ex.Caps = slices.Clone(spec.Capabilities)
	}
	if o.Dir != "" {
		ex.Dir = o.Dir
	}
	if o.User != "" {
		ex.User = o.User
	}
	return e.rt.Exec(ctx, b.ID, ex, pio)
}

// Attach joins a running box's main process: its output, and its input
// with stdin; rows and cols size its terminal, if it has one.
func (e *Engine) Attach(ctx context.Context, b *runtime.Box, stdin bool, rows, cols uint16) (*runtime.Attachment, error) {
	return e.rt.Attach(ctx, b.ID, stdin, rows, cols)
}
