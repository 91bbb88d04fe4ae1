package engine

import (
	"context"
	"strings"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

// Host is what the engine runs boxes with, for `info` and `version`.
type Host struct {
	Accel vmm.Accel
	// Detected is what detection would choose, when the accelerator was
	// set by hand.
	Detected *vmm.Accel
	// VMM names the VMM driver; VMMVersion is what its binary says of
	// itself, or VMMErr why it could not say.
	VMM        string
	VMMVersion string
	VMMErr     error
	// Kernel and Initrd are the guest's files, or GuestErr why they are
	// missing.
	Kernel, Initrd string
	GuestErr       error
}

// Host reports the accelerator, the VMM and the guest's files.
func (e *Engine) Host(ctx context.Context) *Host {
	h := &Host{Accel: e.rt.Accel, VMM: e.rt.Driver.Name()}
	h.VMMVersion, h.VMMErr = e.rt.Driver.Version(ctx)
	h.Kernel, h.Initrd, h.GuestErr = e.rt.GuestFiles()
	if strings.HasPrefix(h.Accel.Reason, "set by") {
		d := vmm.DetectAccel()
		h.Detected = &d
	}
	return h
}

// Driver names the VMM driver.
func (e *Engine) Driver() string { return e.rt.Driver.Name() }

// LastGuest is what the last guest to boot said of itself; nil before
// any booted.
func (e *Engine) LastGuest() (*runtime.GuestInfo, error) { return e.rt.LastGuest() }

// Images is the image store.
func (e *Engine) Images() *image.Store { return e.rt.Images }

// Supervise runs box id's supervisor in this process until the box is
// down for good: the hidden `supervise` verb.
func (e *Engine) Supervise(ctx context.Context, id string, o runtime.SuperviseOptions) error {
	return e.rt.Supervise(ctx, id, o)
}

// RemoveStackImages removes the images the boxes of s name, each once, as
// `compose down --rmi all` does; fn hears of each, with its error if it
// could not go (an image another box still uses stays).
func (e *Engine) RemoveStackImages(ctx context.Context, s *spec.Stack, fn func(ref string, err error)) {
	seen := map[string]bool{}
	for _, name := range s.BoxNames() {
		ref := s.Boxes[name].Image
		if seen[ref] {
			continue
		}
		seen[ref] = true
		_, err := e.rt.Images.Remove(ctx, ref, false)
		fn(ref, err)
	}
}
