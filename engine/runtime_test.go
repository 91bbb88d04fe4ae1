package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/volume"
)

// TestNotFoundMapping: the runtime's own "no such" errors reach reconcile
// as ErrNotFound with their text and their own identity kept; any other
// error stays what it was.
func TestNotFoundMapping(t *testing.T) {
	other := errors.New("disk full")
	for _, tc := range []struct {
		name     string
		mark     func(error) error
		err      error
		own      error
		notFound bool
	}{
		{"box", noBox, fmt.Errorf("lookup x: %w", runtime.ErrNoSuchBox), runtime.ErrNoSuchBox, true},
		{"network", noNetwork, fmt.Errorf("net: %w", network.ErrNotFound), network.ErrNotFound, true},
		{"volume", noVolume, fmt.Errorf("vol: %w", volume.ErrNotFound), volume.ErrNotFound, true},
		{"a box's missing volume is no missing box", noBox, fmt.Errorf("start: %w", volume.ErrNotFound), volume.ErrNotFound, false},
		{"another error", noBox, other, other, false},
	} {
		got := tc.mark(tc.err)
		if errors.Is(got, reconcile.ErrNotFound) != tc.notFound {
			t.Errorf("%s: errors.Is(%v, ErrNotFound) = %v, want %v", tc.name, got, !tc.notFound, tc.notFound)
		}
		if !errors.Is(got, tc.own) {
			t.Errorf("%s: the runtime's own error is lost from %v", tc.name, got)
		}
		if got.Error() != tc.err.Error() {
			t.Errorf("%s: text %q, want the runtime's %q", tc.name, got, tc.err)
		}
	}
}
