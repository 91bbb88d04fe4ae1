// Package benchrig is what the benchmark tools (cmd/*bench) stand on: a
// scratch directory with a state root for the built a3s-box binary, the
// in-process test registry serving their image, the /proc readings of a
// box's processes, and the medians of timed samples. Each tool keeps its
// own flags, measurements and result lines; what it shares with the others
// lives here, so that every bench sets up and tears down the same way.
package benchrig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Main makes a rig for the a3s-box binary in dir (the build's out
// directory), runs bench on it and tears the rig down; when any of that
// failed, it prints "NAME: ERROR" on stderr and exits 1.
func Main(name, dir string, bench func(ctx context.Context, rig *Rig) error) {
	Exit(name, run(context.Background(), name, dir, bench))
}

// run tears the rig down even when bench panics.
func run(ctx context.Context, name, dir string, bench func(ctx context.Context, rig *Rig) error) error {
	rig, err := newRig(dir, name)
	if err != nil {
		return err
	}
	defer rig.teardown(ctx)
	return bench(ctx, rig)
}

// Exit ends a bench's process with status 1 and "NAME: ERROR" on stderr
// when err is not nil, and returns otherwise.
func Exit(name string, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Rig is one bench run's scratch directory, with the built a3s-box on the
// state root Work/root.
type Rig struct {
	// Work is the scratch directory, removed when the bench ends.
	Work string
	*CLI
	stops []func()
}

// newRig makes a rig in a new temporary directory named after the bench.
func newRig(dir, name string) (*Rig, error) {
	work, err := os.MkdirTemp("", "a3s-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	return &Rig{Work: work, CLI: &CLI{Bin: filepath.Join(dir, "a3s-box"), Root: filepath.Join(work, "root")}}, nil
}

// Serve starts a registry on 127.0.0.1 holding img as repoTag
// ("repo:tag") and returns the image's reference. The registry stops when
// the bench ends.
func (r *Rig) Serve(repoTag string, img v1.Image) (ref string, err error) {
	addr, stop, err := imagetest.Serve(map[string]v1.Image{repoTag: img})
	if err != nil {
		return "", err
	}
	r.stops = append(r.stops, stop)
	return addr + "/" + repoTag, nil
}

// ServeBusybox serves the busybox test image and returns its reference.
func (r *Rig) ServeBusybox() (ref string, err error) {
	img, err := imagetest.Busybox()
	if err != nil {
		return "", err
	}
	return r.Serve("test/busybox:1", img)
}

// teardown removes every box and network left on the rig's state root,
// so no VM, tap or bridge outlives the bench (even one that failed half
// way), then the scratch directory, then stops the registries. Errors are
// ignored: it runs on the way out, after the results are printed.
func (r *Rig) teardown(ctx context.Context) {
	if _, err := os.Stat(r.Root); err == nil {
		if ids, err := r.Run(ctx, "ps", "-aq"); err == nil && ids != "" {
			_, _ = r.Run(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}
		_, _ = r.Run(ctx, "network", "prune", "-f")
	}
	_ = os.RemoveAll(r.Work)
	for i := len(r.stops) - 1; i >= 0; i-- {
		r.stops[i]()
	}
}
