package engine

import (
	"context"
	"io"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
)

// Files inside boxes, running, paused or stopped (a stopped box's disk is
// reached through a maintenance boot).

// CopyIn copies host path src to dst in the box, as `cp` does.
func (e *Engine) CopyIn(ctx context.Context, b *runtime.Box, src, dst string, o runtime.CopyOptions) error {
	return e.rt.CopyIn(ctx, b, src, dst, o)
}

// CopyOut copies src in the box to host path dst.
func (e *Engine) CopyOut(ctx context.Context, b *runtime.Box, src, dst string, o runtime.CopyOptions) error {
	return e.rt.CopyOut(ctx, b, src, dst, o)
}

// CopyInTar unpacks a tar stream into dst in the box (`cp - BOX:DST`).
func (e *Engine) CopyInTar(ctx context.Context, b *runtime.Box, r io.Reader, dst string, o runtime.CopyOptions) error {
	return e.rt.CopyInTar(ctx, b, r, dst, o)
}

// CopyOutTar writes src in the box as a tar stream (`cp BOX:SRC -`).
func (e *Engine) CopyOutTar(ctx context.Context, b *runtime.Box, src string, w io.Writer, o runtime.CopyOptions) error {
	return e.rt.CopyOutTar(ctx, b, src, w, o)
}

// Diff lists what changed in the box's filesystem against its image.
func (e *Engine) Diff(ctx context.Context, b *runtime.Box) ([]proto.Change, error) {
	return e.rt.Diff(ctx, b)
}

// Commit makes an image of the box's changes on top of its image.
func (e *Engine) Commit(ctx context.Context, b *runtime.Box, o runtime.CommitOptions) (*image.Image, error) {
	return e.rt.Commit(ctx, b, o)
}

// Export writes the box's whole filesystem as a tar stream.
func (e *Engine) Export(ctx context.Context, b *runtime.Box, w io.Writer) error {
	return e.rt.Export(ctx, b, w)
}
