// Command stackbench measures the declarative core: a no-op reconcile of
// 200 desired boxes (observation of the runtime's records plus planning,
// no VM booted), the time from a file write in a watched directory to the
// watcher's first action, and `apply` of a 10-box stack against booting
// the same 10 boxes one after another.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/benchrig"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/reconcile"
	a3s "github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box and the guest files")
	runs := flag.Int("runs", 5, "samples of the watch latency")
	boxes := flag.Int("boxes", 10, "boxes in the apply comparison")
	flag.Parse()
	benchrig.Main("stackbench", *dir, func(ctx context.Context, rig *benchrig.Rig) error { return bench(ctx, rig, *runs, *boxes) })
}

// bench gives each part a state root of its own.
func bench(ctx context.Context, rig *benchrig.Rig, runs, n int) error {
	if err := noopReconcile(ctx, filepath.Join(rig.Work, "noop"), 200); err != nil {
		return err
	}
	ref, err := rig.ServeBusybox()
	if err != nil {
		return err
	}
	if err := watchLatency(ctx, rig.At(filepath.Join(rig.Work, "watch")), filepath.Join(rig.Work, "watched"), runs); err != nil {
		return err
	}
	return applyVsSequential(ctx, rig, ref, n)
}

// noopReconcile times Observe + Plan over n boxes whose records match
// their desired state: what every resync of an unchanged stack costs.
func noopReconcile(ctx context.Context, root string, n int) error {
	cfg := &a3s.Config{Root: root, Accel: "tcg"}
	machine, err := a3s.New(ctx, cfg)
	if err != nil {
		return err
	}
	rt := engine.ReconcileRuntime(machine)
	st := &spec.Stack{Name: "big", Boxes: map[string]spec.Box{}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("b%03d", i)
		st.Boxes[name] = spec.Box{Name: name, Image: "img", Command: []string{"sleep", "1"}, Env: []string{"I=" + name}}
	}
	desired := reconcile.DesiredFromStack(st)
	// Box records as the executor writes them, with no VM behind them.
	for i, d := range desired {
		id := fmt.Sprintf("%064x", i+1)
		bdir := filepath.Join(root, "boxes", id)
		if err := os.MkdirAll(bdir, 0o700); err != nil {
			return err
		}
		b := d.Spec
		b.Labels = map[string]string{reconcile.LabelStack: d.Stack, reconcile.LabelBox: d.Name, reconcile.LabelHash: d.Hash}
		rec := &a3s.BoxRecord{ID: id, Name: reconcile.BoxName(d.Stack, d.Name), Created: time.Now(), Spec: b, Main: &proto.Exec{Args: b.Command}}
		if err := statefile.WriteJSON(filepath.Join(bdir, "config.json"), rec); err != nil {
			return err
		}
		if err := statefile.WriteJSON(filepath.Join(bdir, "state.json"), &a3s.BoxState{Status: spec.StatusRunning}); err != nil {
			return err
		}
	}
	var samples benchrig.Samples
	for range 20 {
		if err := samples.Time(func() error {
			obs, err := reconcile.Observe(rt, map[string]bool{"big": true})
			if err != nil {
				return err
			}
			if acts := reconcile.Plan(desired, obs); len(acts) != 0 {
				return fmt.Errorf("no-op plan has %d actions: %v", len(acts), acts[0])
			}
			return nil
		}); err != nil {
			return err
		}
	}
	fmt.Printf("no-op reconcile of %d boxes (observe + plan)   median %8.2f ms   (aim < 50 ms)\n", n, benchrig.Ms(samples.Median()))
	return nil
}

// watchLatency times a stack file's write to the watcher's first action
// line. The stack names an image that does not exist, so the action
// starts and fails without booting anything.
func watchLatency(ctx context.Context, a3s *benchrig.CLI, wdir string, runs int) error {
	if err := os.MkdirAll(wdir, 0o755); err != nil {
		return err
	}
	cmd := a3s.Command(ctx, "watch", "--resync", "1h", wdir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := waitLine(lines, "watching", 10*time.Second); err != nil {
		return err
	}
	var samples benchrig.Samples
	for i := range runs {
		name := fmt.Sprintf("lat%d", i)
		body := fmt.Sprintf("name: %s\nboxes:\n  a:\n    image: 127.0.0.1:1/none/such:%d\n", name, i)
		if err := samples.Time(func() error {
			if err := os.WriteFile(filepath.Join(wdir, name+".yaml"), []byte(body), 0o644); err != nil {
				return err
			}
			return waitLine(lines, " - "+name+"-a-1: create", 10*time.Second)
		}); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
	}
	fmt.Printf("watch: file write to first action started      median %8.2f ms   (aim < 200 ms; debounce %d ms)\n", benchrig.Ms(samples.Median()), 100)
	return nil
}

func waitLine(lines <-chan string, prefix string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return fmt.Errorf("watch ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no %q within %s", prefix, timeout)
		}
	}
}

// applyVsSequential boots n boxes twice: once as one stack through apply
// (one wave, in parallel) and once with n `run -d` one after another.
func applyVsSequential(ctx context.Context, rig *benchrig.Rig, ref string, n int) error {
	run := func(args ...string) error { _, err := rig.Run(ctx, args...); return err }
	if err := run("pull", "-q", ref); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("name: ten\nboxes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  b%d:\n    image: %s\n    command: [\"sleep\", \"100000\"]\n    mem_limit: 256m\n", i, ref)
	}
	file := filepath.Join(rig.Work, "ten.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return err
	}
	start := time.Now()
	if err := run("apply", "-f", file); err != nil {
		return err
	}
	parallel := time.Since(start)
	if err := run("delete", "ten"); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < n; i++ {
		if err := run("run", "-d", "-m", "256m", "--name", fmt.Sprintf("seq%d", i), ref, "sleep", "100000"); err != nil {
			return err
		}
	}
	sequential := time.Since(start) // Close removes the boxes
	fmt.Printf("apply of a %d-box stack                        %8.2f s\n", n, parallel.Seconds())
	fmt.Printf("the same %d boxes booted one after another     %8.2f s\n", n, sequential.Seconds())
	fmt.Printf("speed-up                                       %8.2fx  (aim >= %d cores' share)\n", sequential.Seconds()/parallel.Seconds(), runtime.NumCPU())
	return nil
}
