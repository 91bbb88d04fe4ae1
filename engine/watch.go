package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/fsnotify/fsnotify"
)

// watchDebounce gathers the bursts of events that one `git pull` or one
// editor's save-by-rename makes into one reconcile.
const watchDebounce = 100 * time.Millisecond

// WatchOptions configure Watch.
type WatchOptions struct {
	// Dirs are the directories whose *.yaml and *.yml files (below them,
	// hidden directories left out) are the stacks to keep applied.
	Dirs []string
	// Resync is how often everything is reconciled, repairing drift.
	Resync time.Duration
	// Log gets one line per thing the watcher does; nil discards them.
	Log io.Writer
	// Reload reads everything again on each receive (SIGHUP).
	Reload <-chan struct{}
	// Ready is called once after the first sync (sd_notify).
	Ready func()
	// MetricsAddr, when set, is the host:port where Prometheus metrics are
	// served on /metrics and the watcher's health on /healthz, until ctx
	// ends.
	MetricsAddr string
}

// watcher keeps the stacks of some directories applied.
type watcher struct {
	e    *Engine
	dirs []string // absolute
	log  io.Writer
	// failed are files that failed to load, with their error, so that an
	// unchanged broken file is reported once.
	failed map[string]string
	// m records what the watcher does; nil when no metrics are served.
	m *WatchMetrics
}

// Watch keeps the machine matching the stacks of some directories, as
// `watch` does, until ctx ends; the boxes keep running after. It drives
// the reconcile loop from fsnotify events (debounced), a periodic resync
// and o.Reload. A file that fails to load keeps its stacks as they were;
// the stacks of a deleted file are deleted; the implicit stack is
// reconciled but never pruned.
func (e *Engine) Watch(ctx context.Context, o WatchOptions) error {
	if len(o.Dirs) == 0 {
		return errors.New("watch: no directory")
	}
	w := &watcher{e: e, log: o.Log, failed: map[string]string{}}
	if w.log == nil {
		w.log = io.Discard
	}
	for _, d := range o.Dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return fmt.Errorf("watch %s: not a directory", d)
		}
		w.dirs = append(w.dirs, abs)
	}
	resync := o.Resync
	if resync <= 0 {
		resync = 30 * time.Second
	}
	if o.MetricsAddr != "" {
		// Listening first makes a bad or busy address fail before anything
		// is watched.
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return fmt.Errorf("watch: metrics: %w", err)
		}
		w.m = NewWatchMetrics()
		stop := w.serveMetrics(ln)
		defer stop()
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer fsw.Close()
	for _, d := range w.dirs {
		w.addTree(fsw, d)
	}
	w.logf("watching %s", strings.Join(w.dirs, ", "))
	w.sync(ctx)
	w.m.SetReady(true)
	defer w.m.SetReady(false)
	if o.Ready != nil {
		o.Ready()
	}
	tick := time.NewTicker(resync)
	defer tick.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			w.logf("stopped watching; boxes keep running")
			return nil
		case ev := <-fsw.Events:
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					w.addTree(fsw, ev.Name)
				}
			}
			if debounce == nil {
				debounce = time.After(watchDebounce)
			}
		case err := <-fsw.Errors:
			w.logf("watch error: %v", err)
		case <-debounce:
			debounce = nil
			w.sync(ctx)
		case <-o.Reload:
			w.logf("SIGHUP: reading everything again")
			w.failed = map[string]string{}
			w.sync(ctx)
		case <-tick.C:
			w.sync(ctx)
		}
	}
}

// serveMetrics serves w.m on ln until the returned stop is called.
func (w *watcher) serveMetrics(ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: w.m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.logf("metrics: %v", err)
		}
	}()
	w.logf("serving metrics on http://%s/metrics", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}
}

// reconcile reconciles one stored stack and records it in the metrics.
func (w *watcher) reconcile(ctx context.Context, name string, prune bool) (*reconcile.Result, error) {
	start := time.Now()
	res, err := w.e.Reconcile(ctx, name, w.reconcileOptions(prune))
	w.m.ObserveReconcile(name, time.Since(start), err)
	return res, err
}

func (w *watcher) reconcileOptions(prune bool) ReconcileOptions {
	return ReconcileOptions{Options: reconcile.Options{Prune: prune}, Progress: w.log}
}

func (w *watcher) logf(format string, args ...any) {
	fmt.Fprintf(w.log, format+"\n", args...)
}

// addTree watches dir and every directory below it (fsnotify is not
// recursive); hidden ones such as .git are left out.
func (w *watcher) addTree(fsw *fsnotify.Watcher, dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err := fsw.Add(p); err != nil {
			w.logf("watch %s: %v", p, err)
		}
		return nil
	})
}

// files lists the stack files under the watched directories.
func (w *watcher) files() map[string]bool {
	out := map[string]bool{}
	for _, dir := range w.dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) && !strings.HasPrefix(d.Name(), ".") {
				out[p] = true
			}
			return nil
		})
	}
	return out
}

// sync applies every stack file, removes the stacks of deleted files, and
// reconciles each stack. A file that fails to load leaves its stacks as
// they were.
func (w *watcher) sync(ctx context.Context) {
	files := w.files()
	// A broken file that is gone is forgotten, so that it is reported
	// again should it come back.
	for file := range w.failed {
		if !files[file] {
			delete(w.failed, file)
		}
	}
	keep := map[string]bool{} // stacks still backed by a file
	for file := range files {
		stacks, warns, err := spec.Load(ctx, file)
		if err != nil {
			msg := strings.ReplaceAll(err.Error(), "\n", "; ")
			if w.failed[file] != msg {
				w.logf("error: %s: keeping its stacks as they are", msg)
				w.failed[file] = msg
			}
			for _, r := range w.stacksOf(file) {
				keep[r] = true
			}
			continue
		}
		delete(w.failed, file)
		for _, wn := range warns {
			w.logf("warning: %s", wn.String())
		}
		for _, s := range stacks {
			keep[s.Name] = true
			// Unlike apply, a resync keeps the boxes a user stopped by
			// hand stopped: the file did not ask for anything new.
			before, _ := w.e.store.Get(s.Name)
			rec, err := w.e.store.Update(ctx, s.Name, func(r *reconcile.StackRecord) error {
				r.Stack, r.Source = *s, reconcile.Source{Kind: reconcile.SourceFile, Path: file}
				return nil
			})
			switch {
			case err != nil:
				w.logf("stack %s: %v", s.Name, err)
			case before == nil || before.Generation != rec.Generation:
				w.logf("stack %s: desired state changed (%s), generation %d", s.Name, file, rec.Generation)
			}
		}
	}
	w.m.SetFilesFailed(len(w.failed))
	defer w.countBoxes()
	recs, err := w.e.store.List()
	if err != nil {
		w.logf("list stacks: %v", err)
		return
	}
	for _, r := range recs {
		if r.Name == reconcile.ImplicitStack {
			// The boxes of imperative verbs: repaired, never pruned.
			if res, err := w.reconcile(ctx, r.Name, false); err != nil {
				w.logf("boxes of run -d and create: %s", strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
			} else if len(res.Actions) > 0 {
				w.logf("boxes of run -d and create: converged, %d actions", len(res.Actions))
			}
			continue
		}
		if !w.owns(r.Source) {
			continue
		}
		if !keep[r.Name] {
			w.logf("stack %s: its file %s is gone; removing it", r.Name, r.Source.Path)
			start := time.Now()
			if err := w.e.Delete(ctx, r.Name, DeleteOptions{ReconcileOptions: w.reconcileOptions(false)}); err != nil {
				w.logf("stack %s: %v", r.Name, err)
				w.m.ObserveReconcile(r.Name, time.Since(start), err)
			} else {
				w.m.ForgetStack(r.Name)
			}
			continue
		}
		res, err := w.reconcile(ctx, r.Name, true)
		switch {
		case err != nil:
			w.logf("stack %s: %s", r.Name, strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
		case len(res.Actions) > 0:
			w.logf("stack %s: converged, %d actions", r.Name, len(res.Actions))
		}
	}
}

// countBoxes records the boxes on the machine by state.
func (w *watcher) countBoxes() {
	if w.m == nil {
		return
	}
	boxes, err := w.e.Boxes()
	if err != nil {
		w.logf("list boxes: %v", err)
		return
	}
	w.m.SetBoxes(boxes)
}

// owns reports a stack whose file is under a watched directory.
func (w *watcher) owns(src reconcile.Source) bool {
	if src.Kind != reconcile.SourceFile {
		return false
	}
	for _, d := range w.dirs {
		if strings.HasPrefix(src.Path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// stacksOf names the stored stacks that came from file.
func (w *watcher) stacksOf(file string) []string {
	recs, _ := w.e.store.List()
	var out []string
	for _, r := range recs {
		if r.Source.Path == file {
			out = append(out, r.Name)
		}
	}
	return out
}
