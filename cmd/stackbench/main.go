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
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/reconcile"
	a3s "github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	"github.com/a3s-box/a3s-box/runtime/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box and the guest files")
	runs := flag.Int("runs", 5, "samples of the watch latency")
	boxes := flag.Int("boxes", 10, "boxes in the apply comparison")
	flag.Parse()
	if err := bench(*dir, *runs, *boxes); err != nil {
		fmt.Fprintln(os.Stderr, "stackbench:", err)
		os.Exit(1)
	}
}

func bench(dir string, runs, n int) error {
	if err := noopReconcile(200); err != nil {
		return err
	}
	ref, stop, err := imagetest.ServeBusybox()
	if err != nil {
		return err
	}
	defer stop()
	if err := watchLatency(dir, runs); err != nil {
		return err
	}
	return applyVsSequential(dir, ref, n)
}

// noopReconcile times Observe + Plan over n boxes whose records match
// their desired state: what every resync of an unchanged stack costs.
func noopReconcile(n int) error {
	root, err := os.MkdirTemp("", "a3s-stackbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	cfg := &a3s.Config{Root: root, Accel: "tcg"}
	rt, err := a3s.New(context.Background(), cfg)
	if err != nil {
		return err
	}
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
		if err := statefile.WriteJSON(filepath.Join(bdir, "state.json"), &a3s.BoxState{Status: a3s.StatusRunning}); err != nil {
			return err
		}
	}
	var samples []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		obs, err := reconcile.Observe(rt, map[string]bool{"big": true})
		if err != nil {
			return err
		}
		if acts := reconcile.Plan(desired, obs); len(acts) != 0 {
			return fmt.Errorf("no-op plan has %d actions: %v", len(acts), acts[0])
		}
		samples = append(samples, time.Since(start))
	}
	fmt.Printf("no-op reconcile of %d boxes (observe + plan)   median %8.2f ms   (aim < 50 ms)\n", n, ms(median(samples)))
	return nil
}

// watchLatency times a stack file's write to the watcher's first action
// line. The stack names an image that does not exist, so the action
// starts and fails without booting anything.
func watchLatency(dir string, runs int) error {
	root, err := os.MkdirTemp("", "a3s-stackbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	wdir := filepath.Join(root, "watched")
	if err := os.MkdirAll(wdir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(dir, "a3s-box"), "watch", "--resync", "1h", wdir)
	cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+filepath.Join(root, "state"), "A3S_BOX_ACCEL=tcg")
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
	var samples []time.Duration
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("lat%d", i)
		body := fmt.Sprintf("name: %s\nboxes:\n  a:\n    image: 127.0.0.1:1/none/such:%d\n", name, i)
		start := time.Now()
		if err := os.WriteFile(filepath.Join(wdir, name+".yaml"), []byte(body), 0o644); err != nil {
			return err
		}
		if err := waitLine(lines, " - "+name+"-a-1: create", 10*time.Second); err != nil {
			return err
		}
		samples = append(samples, time.Since(start))
		time.Sleep(300 * time.Millisecond)
	}
	fmt.Printf("watch: file write to first action started      median %8.2f ms   (aim < 200 ms; debounce %d ms)\n", ms(median(samples)), 100)
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
func applyVsSequential(dir, ref string, n int) error {
	root, err := os.MkdirTemp("", "a3s-stackbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	run := func(args ...string) error {
		cmd := exec.Command(filepath.Join(dir, "a3s-box"), args...)
		cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+root, "A3S_BOX_ACCEL=tcg")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("a3s-box %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("pull", "-q", ref); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("name: ten\nboxes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  b%d:\n    image: %s\n    command: [\"sleep\", \"100000\"]\n    mem_limit: 256m\n", i, ref)
	}
	file := filepath.Join(root, "ten.yaml")
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
	sequential := time.Since(start)
	for i := 0; i < n; i++ {
		_ = run("rm", "-f", fmt.Sprintf("seq%d", i))
	}
	fmt.Printf("apply of a %d-box stack                        %8.2f s\n", n, parallel.Seconds())
	fmt.Printf("the same %d boxes booted one after another     %8.2f s\n", n, sequential.Seconds())
	fmt.Printf("speed-up                                       %8.2fx  (aim >= %d cores' share)\n", sequential.Seconds()/parallel.Seconds(), runtime.NumCPU())
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
