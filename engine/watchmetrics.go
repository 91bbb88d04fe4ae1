package engine

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// WatchMetrics are the Prometheus metrics of a watcher, on a registry of
// their own, and its health: what `watch --metrics-addr` serves. Every
// method is safe on a nil *WatchMetrics, which records nothing.
type WatchMetrics struct {
	reg         *prometheus.Registry
	reconciles  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	boxes       *prometheus.GaugeVec
	filesFailed prometheus.Gauge
	// ready is set once the first sync has finished, and cleared when the
	// loop ends.
	ready atomic.Bool
}

// boxStates are the states a3s_box_boxes always reports, at 0 when no box
// is in them, so that a query of one state never finds no series.
var boxStates = []string{
	spec.StatusCreated, spec.StatusRunning, spec.StatusPaused, spec.StatusRestarting,
	spec.StatusRemoving, spec.StatusExited, spec.StatusDead, spec.StatusUnknown,
}

// NewWatchMetrics makes the watcher's metrics and registers them, with the
// Go runtime's and the process's collectors, on a new registry.
func NewWatchMetrics() *WatchMetrics {
	m := &WatchMetrics{
		reg: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a3s_box_reconciles_total",
			Help: "Reconciles of a stack by the watcher, by result (ok or error).",
		}, []string{"stack", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "a3s_box_reconcile_duration_seconds",
			Help:    "How long the watcher's reconciles of a stack took, booting its boxes included.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"stack"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "a3s_box_last_successful_sync_timestamp_seconds",
			Help: "When a reconcile of the stack last succeeded, in seconds since the Unix epoch.",
		}, []string{"stack"}),
		boxes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "a3s_box_boxes",
			Help: "Boxes on the machine by state, counted after each sync.",
		}, []string{"state"}),
		filesFailed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "a3s_box_stack_files_failed",
			Help: "Stack files under the watched directories that fail to load; their stacks are kept as they were.",
		}),
	}
	for _, s := range boxStates {
		m.boxes.WithLabelValues(s).Set(0)
	}
	m.reg.MustRegister(
		m.reconciles, m.duration, m.lastSuccess, m.boxes, m.filesFailed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry the metrics are on.
func (m *WatchMetrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ObserveReconcile records one reconcile of stack that took d and failed
// with err, or succeeded when err is nil.
func (m *WatchMetrics) ObserveReconcile(stack string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.reconciles.WithLabelValues(stack, result).Inc()
	m.duration.WithLabelValues(stack).Observe(d.Seconds())
	if err == nil {
		m.lastSuccess.WithLabelValues(stack).Set(float64(time.Now().UnixNano()) / 1e9)
	}
}

// ForgetStack drops the series of a stack that is gone.
func (m *WatchMetrics) ForgetStack(stack string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"stack": stack}
	m.reconciles.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.lastSuccess.DeletePartialMatch(l)
}

// SetBoxes counts boxes by state.
func (m *WatchMetrics) SetBoxes(boxes []*runtime.Box) {
	if m == nil {
		return
	}
	n := map[string]int{}
	for _, s := range boxStates {
		n[s] = 0
	}
	for _, b := range boxes {
		if b != nil && b.State != nil && b.State.Status != "" {
			n[b.State.Status]++
		}
	}
	m.boxes.Reset()
	for s, c := range n {
		m.boxes.WithLabelValues(s).Set(float64(c))
	}
}

// SetFilesFailed records how many stack files fail to load.
func (m *WatchMetrics) SetFilesFailed(n int) {
	if m == nil {
		return
	}
	m.filesFailed.Set(float64(n))
}

// SetReady says whether the first sync has finished and the loop runs:
// what /healthz reports.
func (m *WatchMetrics) SetReady(ready bool) {
	if m == nil {
		return
	}
	m.ready.Store(ready)
}

// Handler serves the metrics on /metrics, in Prometheus's text exposition
// format, and the watcher's health on /healthz: 200 "ok" once the first
// sync has finished while the loop runs, 503 otherwise.
func (m *WatchMetrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !m.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "starting\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}
