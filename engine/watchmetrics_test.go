package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestWatchMetricsHandler(t *testing.T) {
	m := NewWatchMetrics()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz before the first sync: %d %q, want 503", code, body)
	}

	m.ObserveReconcile("web", 1500*time.Millisecond, nil)
	m.ObserveReconcile("web", 200*time.Millisecond, errors.New("boom"))
	m.ObserveReconcile("db", 10*time.Millisecond, nil)
	box := func(status string) *runtime.Box { return &runtime.Box{State: &runtime.BoxState{Status: status}} }
	m.SetBoxes([]*runtime.Box{box(spec.StatusRunning), box(spec.StatusRunning), box(spec.StatusExited), nil})
	m.SetFilesFailed(2)
	m.SetReady(true)

	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz after the first sync: %d %q, want 200 ok", code, body)
	}
	code, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	for _, want := range []string{
		"# HELP a3s_box_reconciles_total ",
		"# TYPE a3s_box_reconciles_total counter",
		`a3s_box_reconciles_total{result="ok",stack="web"} 1`,
		`a3s_box_reconciles_total{result="error",stack="web"} 1`,
		`a3s_box_reconciles_total{result="ok",stack="db"} 1`,
		"# TYPE a3s_box_reconcile_duration_seconds histogram",
		`a3s_box_reconcile_duration_seconds_count{stack="web"} 2`,
		`a3s_box_reconcile_duration_seconds_bucket{stack="web",le="2.5"} 2`,
		`a3s_box_reconcile_duration_seconds_bucket{stack="web",le="1"} 1`,
		`a3s_box_last_successful_sync_timestamp_seconds{stack="web"} `,
		`a3s_box_boxes{state="running"} 2`,
		`a3s_box_boxes{state="exited"} 1`,
		`a3s_box_boxes{state="created"} 0`,
		"a3s_box_stack_files_failed 2",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}

	// A stack that is gone has no series left; the others keep theirs.
	m.ForgetStack("web")
	m.SetBoxes(nil)
	m.SetReady(false)
	_, body = get(t, srv.URL+"/metrics")
	if strings.Contains(body, `stack="web"`) || !strings.Contains(body, `a3s_box_reconciles_total{result="ok",stack="db"} 1`) {
		t.Errorf("after ForgetStack(web):\n%s", body)
	}
	if !strings.Contains(body, `a3s_box_boxes{state="running"} 0`) {
		t.Errorf("no boxes still reports running at 0:\n%s", body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz after the loop ended: %d, want 503", code)
	}
}

func TestWatchMetricsNil(t *testing.T) {
	var m *WatchMetrics
	m.ObserveReconcile("web", time.Second, nil)
	m.ForgetStack("web")
	m.SetBoxes(nil)
	m.SetFilesFailed(1)
	m.SetReady(true)
}

func TestWatchMetricsAddress(t *testing.T) {
	dir := t.TempDir()
	e := &Engine{}
	err := e.Watch(context.Background(), WatchOptions{Dirs: []string{dir}, MetricsAddr: "nonsense"})
	if err == nil || !strings.Contains(err.Error(), "nonsense") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a bad metrics address: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = e.Watch(context.Background(), WatchOptions{Dirs: []string{dir}, MetricsAddr: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("a metrics address in use: %v", err)
	}
}
