package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWatchDirectory(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	t.Cleanup(func() { a3s(t, "delete", "wst") })
	watch := command(t.Context(), e2e.root, "watch", "--resync", "2s", dir)
	log := &syncBuffer{}
	watch.Stdout, watch.Stderr = log, log
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	waitFor(t, 10*time.Second, "the watcher to start", func() bool { return strings.Contains(log.String(), "watching") })

	file := filepath.Join(dir, "sub", "wst.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	body := "name: wst\nboxes:\n  app:\n    image: IMAGE\n    command: [\"sleep\", \"1000\"]\n    restart: always\n    environment:\n      V: one\n"
	writeStack(t, file, body)
	running := func() bool {
		r := a3s(t, "inspect", "-f", "{{.State.Status}}", "wst-app-1")
		return r.code == 0 && strings.TrimSpace(r.stdout) == "running"
	}
	waitFor(t, 60*time.Second, "the stack to converge", running)
	first := field(t, "wst-app-1", "{{.Id}}")

	// An edit converges again.
	writeStack(t, file, strings.Replace(body, "V: one", "V: two", 1))
	waitFor(t, 60*time.Second, "the edit to converge", func() bool {
		r := a3s(t, "inspect", "-f", "{{.Id}} {{.State.Status}} {{json .Config.Env}}", "wst-app-1")
		return r.code == 0 && !strings.HasPrefix(r.stdout, first) && strings.Contains(r.stdout, "running") && strings.Contains(r.stdout, "V=two")
	})
	second := field(t, "wst-app-1", "{{.Id}}")

	// A stop by hand is an edit of the desired state: resyncs keep the
	// box stopped until a start.
	if r := a3s(t, "stop", "-t", "1", "wst-app-1"); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	time.Sleep(5 * time.Second) // two resyncs
	if got := field(t, "wst-app-1", "{{.State.Status}}"); got != "exited" {
		t.Fatalf("a box stopped by hand is %s after resyncs, want exited", got)
	}
	if r := a3s(t, "start", "wst-app-1"); r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}

	// A file that fails to parse is reported and changes nothing.
	writeStack(t, filepath.Join(dir, "broken.yaml"), "name: broken\nboxes:\n  x:\n    imag: IMAGE\n")
	waitFor(t, 20*time.Second, "the parse error in the log", func() bool {
		return strings.Contains(log.String(), "broken.yaml:4")
	})

	// The box's supervisor and VM killed behind a3s-box's back: the next
	// resync brings the box back.
	id := second
	_, pid := boxPIDs(t, id)
	if pid == 0 {
		t.Fatal("no supervisor pid recorded")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the supervisor to go", func() bool { return syscall.Kill(pid, 0) != nil })
	waitFor(t, 60*time.Second, "the box back up", func() bool {
		r := a3s(t, "inspect", "-f", "{{.State.Status}}", "wst-app-1")
		_, now := boxPIDs(t, id)
		return r.code == 0 && strings.HasPrefix(r.stdout, "running") && now != 0 && now != pid
	})

	// Deleting the file removes its stack and boxes.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the stack's boxes to go", func() bool {
		return a3s(t, "inspect", "wst-app-1").code == 1
	})

	// SIGTERM stops the watcher cleanly.
	if err := watch.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "stopped watching") {
		t.Fatalf("watch log:\n%s", log.String())
	}
}

// scrape fetches url once; code is 0 when nothing answers.
func scrape(url string) (code int, body string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWatchMetrics(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	t.Cleanup(func() { a3s(t, "delete", "wmet") })
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	watch := command(t.Context(), e2e.root, "watch", "--resync", "2s", "--metrics-addr", addr, dir)
	log := &syncBuffer{}
	watch.Stdout, watch.Stderr = log, log
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	waitFor(t, 20*time.Second, "/healthz to say ok", func() bool {
		code, body := scrape("http://" + addr + "/healthz")
		return code == http.StatusOK && body == "ok\n"
	})

	file := filepath.Join(dir, "wmet.yaml")
	writeStack(t, file, "name: wmet\nboxes:\n  app:\n    image: IMAGE\n    command: [\"sleep\", \"1000\"]\n")
	var metrics string
	waitFor(t, 90*time.Second, "/metrics to show the stack reconciled and its box running", func() bool {
		code, body := scrape("http://" + addr + "/metrics")
		metrics = body
		return code == http.StatusOK &&
			strings.Contains(body, `a3s_box_reconciles_total{result="ok",stack="wmet"} `) &&
			strings.Contains(body, `a3s_box_last_successful_sync_timestamp_seconds{stack="wmet"} `) &&
			strings.Contains(body, `a3s_box_reconcile_duration_seconds_count{stack="wmet"} `) &&
			!strings.Contains(body, `a3s_box_boxes{state="running"} 0`) &&
			strings.Contains(body, `a3s_box_boxes{state="running"} `)
	})
	if got := field(t, "wmet-app-1", "{{.State.Status}}"); got != "running" {
		t.Fatalf("wmet-app-1 is %s, want running\n%s", got, metrics)
	}
	for _, want := range []string{"# HELP a3s_box_reconciles_total ", "a3s_box_stack_files_failed 0", "go_goroutines "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}

	// A file that fails to load is counted.
	writeStack(t, filepath.Join(dir, "broken.yaml"), "name: broken\nboxes:\n  x:\n    imag: IMAGE\n")
	waitFor(t, 20*time.Second, "the broken file counted", func() bool {
		_, body := scrape("http://" + addr + "/metrics")
		return strings.Contains(body, "a3s_box_stack_files_failed 1")
	})

	// Deleting the stack's file removes its boxes and its series.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the stack's boxes and series to go", func() bool {
		_, body := scrape("http://" + addr + "/metrics")
		return a3s(t, "inspect", "wmet-app-1").code == 1 && !strings.Contains(body, `stack="wmet"`)
	})

	// SIGTERM stops the watcher and its server.
	if err := watch.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, log.String())
	}
	if code, _ := scrape("http://" + addr + "/healthz"); code != 0 {
		t.Fatalf("/healthz still answers %d after the watcher stopped", code)
	}
}

func TestWatchMetricsBadAddress(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	r := a3s(t, "watch", "--metrics-addr", "nonsense", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "nonsense") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("--metrics-addr nonsense: code %d stdout %q stderr %q; want 1 and one line", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "watching") {
		t.Fatalf("watched despite a bad address: %q", r.stdout)
	}

	// An address in use fails the same way.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r = a3s(t, "watch", "--metrics-addr", ln.Addr().String(), dir)
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("--metrics-addr in use: code %d stdout %q stderr %q; want 1 and one line", r.code, r.stdout, r.stderr)
	}
}
