package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/procfs"
)

func TestGoldenStats(t *testing.T) {
	boxes := goldenBoxes(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	samples := []statsSample{
		{box: boxes[0], ref: boxes[0].ID[:12], state: sampleSampled, cpu: 12.3456, usage: &runtime.Usage{
			Memory: procfs.MemInfo{Total: 210888 << 10, Available: 160000 << 10}, Limit: 256 << 20,
			NetRx: 1_150_520, NetTx: 4_260, BlockRead: 1_940_000, BlockWrite: 188_416, PIDs: 3}},
		{box: boxes[1], ref: "web-starting", state: sampleSampled, cpu: 150, usage: &runtime.Usage{
			Memory: procfs.MemInfo{Total: 2 << 30, Available: 1 << 30}, Limit: 2 << 30, PIDs: 12}},
		{box: boxes[2], ref: boxes[2].ID[:12], state: sampleCPUOnly, cpu: 0},
		{box: boxes[3], ref: boxes[3].ID[:12], state: sampleInvalid},
		{box: boxes[4], ref: boxes[4].ID[:12], state: sampleStopped},
	}
	rows := make([]any, len(samples))
	for i := range samples {
		rows[i] = newStatsRow(&samples[i], false)
	}
	for _, tt := range []struct{ name, format string }{
		{"stats-table", ""},
		{"stats-template", "table {{.Container}}\t{{.Name}}\t{{.MemUsage}}\t{{.PIDs}}"},
		{"stats-json", "json"},
	} {
		var out bytes.Buffer
		l, err := newLister(&out, tt.format, statsTable, statsHeader)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.print(rows); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name+".golden", out.Bytes())
	}
	if r := newStatsRow(&samples[0], true); r.ID != boxes[0].ID {
		t.Fatalf("--no-trunc ID %q", r.ID)
	}
}

func TestStatsUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1KiB", 2048000: "1.953MiB", 256 << 20: "256MiB", 3 << 29: "1.5GiB"} {
		if got := binarySize(n); got != want {
			t.Errorf("binarySize(%v) = %q, want %q", n, got, want)
		}
	}
	for _, tt := range []struct {
		used, wall time.Duration
		want       float64
	}{
		{500 * time.Millisecond, time.Second, 50},
		{2 * time.Second, time.Second, 200}, // two CPUs busy
		{time.Second, 0, 0},
		{-time.Second, time.Second, 0},
	} {
		if got := cpuPercent(tt.used, tt.wall); got != tt.want {
			t.Errorf("cpuPercent(%v, %v) = %v, want %v", tt.used, tt.wall, got, tt.want)
		}
	}
}

func TestUpdateChanges(t *testing.T) {
	tests := []struct {
		name    string
		flags   map[string]string
		check   func(runtime.Changes) bool
		wantErr string
	}{
		{"cpus", map[string]string{"cpus": "0.5"}, func(c runtime.Changes) bool { return *c.CPUs == 0.5 && c.Memory == nil && c.Restart == nil }, ""},
		{"memory", map[string]string{"memory": "256m"}, func(c runtime.Changes) bool { return *c.Memory == 256<<20 && c.CPUs == nil }, ""},
		{"restart", map[string]string{"restart": "on-failure:3"}, func(c runtime.Changes) bool { return c.Restart.Name == "on-failure" && c.Restart.MaxRetries == 3 }, ""},
		{"all", map[string]string{"cpus": "2", "memory": "1g", "restart": "always"}, func(c runtime.Changes) bool {
			return *c.CPUs == 2 && *c.Memory == 1<<30 && c.Restart.Name == "always"
		}, ""},
		{"bad cpus", map[string]string{"cpus": "two"}, nil, `invalid argument "two" for "--cpus" flag`},
		{"bad memory", map[string]string{"memory": "lots"}, nil, `invalid argument "lots" for "-m, --memory" flag`},
		{"negative memory", map[string]string{"memory": "-1g"}, nil, `invalid argument "-1g"`},
		{"bad restart", map[string]string{"restart": "sometimes"}, nil, `invalid restart policy "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := func(n string) bool { _, ok := tt.flags[n]; return ok }
			c, err := updateChanges(changed, tt.flags["cpus"], tt.flags["memory"], tt.flags["restart"])
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("changes %+v, %v", c, err)
			}
		})
	}
}
