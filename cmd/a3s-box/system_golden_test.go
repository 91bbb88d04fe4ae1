package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
)

// goldenUsage is a machine with two images (one shared layer, one used by
// the golden boxes), the golden boxes and two volumes.
func goldenUsage(now time.Time) *systemUsage {
	hex := func(c string) string { return strings.Repeat(c, 64) }
	used := summary(hex("a"), hex("1"), 4_260_000, "registry.local/app/web:1.2")
	unused := summary(hex("b"), hex("2"), 1_150_520)
	u := &systemUsage{
		images: &image.DiskUsage{
			Images: []*image.ImageUsage{
				{Summary: used, Size: 11_534_336, Shared: 1_052_672, Boxes: 6},
				{Summary: unused, Size: 3_276_800, Shared: 1_052_672},
			},
			Total: 11_534_336 + 3_276_800 - 1_052_672, Reclaimable: 3_276_800 - 1_052_672,
		},
		volumes: []volumeUsage{{Name: "shop_data", Links: 2, Size: 52_428_800}, {Name: "old", Size: 4096}},
		host: []network.HostObject{
			{Kind: "bridge", Name: "a3sb0123456789a", Detail: "network 3f2a9c1b7d4e"},
			{Kind: "tap", Name: "a3st01234567890", Detail: "on a3sb0123456789a"},
			{Kind: "tap", Name: "a3st01234567891", Detail: "spare slot"},
			{Kind: "chain", Name: "filter A3S-0123456789-FWD"},
			{Kind: "jump", Name: "filter FORWARD", Detail: "to A3S-0123456789-FWD"},
		},
	}
	for i, b := range goldenBoxes(now) {
		u.boxes = append(u.boxes, boxUsage{b, int64(i+1) * 4_194_304})
	}
	return u
}

func TestGoldenSystemDF(t *testing.T) {
	time.Local = time.UTC
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	u := goldenUsage(now)
	for _, tt := range []struct {
		name, format string
		verbose      bool
	}{
		{"system-df.golden", "", false},
		{"system-df-json.golden", "json", false},
		{"system-df-template.golden", "{{.Type}}: {{.Size}}", false},
		{"system-df-verbose.golden", "", true},
	} {
		var out bytes.Buffer
		if err := u.write(&out, tt.format, tt.verbose, now); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name, out.Bytes())
	}
}

func TestDockerSizes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1_234_567: "1.235MB", 2_235_000_000: "2.235GB"} {
		if got := dockerSize(n); got != want {
			t.Errorf("dockerSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := binarySize(25_274_000_000); got != "23.54GiB" {
		t.Errorf("binarySize = %q", got)
	}
}

func TestGoldenComposePS(t *testing.T) {
	time.Local = time.UTC
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var rows []any
	for i, b := range goldenBoxes(now) {
		service := []string{"web", "api"}[i%2]
		b.Name = "shop-" + service + "-" + string(rune('1'+i/2))
		b.Spec.Labels = map[string]string{reconcile.LabelProject: "shop", reconcile.LabelService: service}
		rows = append(rows, newComposePSRow(projectBox{Box: b, service: service, number: 1 + i/2}, "shop", now, false))
	}
	for _, tt := range []struct{ name, format string }{
		{"compose-ps.golden", ""},
		{"compose-ps-json.golden", "json"},
		{"compose-ps-template.golden", "{{.Name}} {{.Service}} {{.State}} {{.Label \"com.docker.compose.service\"}}"},
	} {
		var out bytes.Buffer
		l, err := newLister(&out, tt.format, composePSTable, composePSHeader)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.print(rows); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name, out.Bytes())
	}
}

// TestGoldenComposeConfig renders testdata/compose-config as `compose
// config` does; the project's directory reads /PROJECT.
func TestGoldenComposeConfig(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "compose-config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE", "TAG", "REGISTRY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	p, err := spec.LoadCompose(context.Background(), spec.ComposeOptions{Files: []string{filepath.Join(dir, "compose.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].String(), "compose.yaml:21: services.api.cap_add: not supported") {
		t.Errorf("warnings %v", p.Warnings)
	}
	if p.Stack.Name != "compose-config" || p.Stack.Boxes["web"].Scale() != 2 {
		t.Errorf("stack %s, web scale %d", p.Stack.Name, p.Stack.Boxes["web"].Scale())
	}
	out, err := p.Model.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "compose-config.golden", bytes.ReplaceAll(out, []byte(dir), []byte("/PROJECT")))
}

func TestPruneWarning(t *testing.T) {
	f, err := parsePruneFilters([]string{"until=24h", "label=env=test"})
	if err != nil {
		t.Fatal(err)
	}
	got := pruneWarning(true, true, f.prompt())
	want := `WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all images without at least one container associated to them
  - all build cache

  Items to be pruned will be filtered with:
  - label=env=test
  - until=24h

Are you sure you want to continue?`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := pruneWarning(false, false, nil); !strings.HasSuffix(got, "  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue?") {
		t.Errorf("plain warning:\n%s", got)
	}
}

func TestPruneFilters(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	tests := []struct {
		specs   []string
		labels  map[string]string
		created time.Time
		want    bool
	}{
		{nil, nil, time.Now(), true},
		{[]string{"until=24h"}, nil, old, true},
		{[]string{"until=24h"}, nil, time.Now(), false},
		{[]string{"label=env"}, map[string]string{"env": "x"}, old, true},
		{[]string{"label=env=test"}, map[string]string{"env": "x"}, old, false},
		{[]string{"label=env", "label=team=a"}, map[string]string{"env": "x", "team": "a"}, old, true},
		{[]string{"label!=keep"}, map[string]string{"keep": ""}, old, false},
		{[]string{"label!=keep"}, nil, old, true},
	}
	for _, tt := range tests {
		f, err := parsePruneFilters(tt.specs)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.match(tt.labels, tt.created); got != tt.want {
			t.Errorf("%v on %v: %v, want %v", tt.specs, tt.labels, got, tt.want)
		}
	}
	for _, bad := range []string{"nope", "status=exited", "until=yesterday"} {
		if _, err := parsePruneFilters([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseScale(t *testing.T) {
	for _, tt := range []struct {
		in   string
		svc  string
		n    int
		fail bool
	}{
		{"web=3", "web", 3, false}, {"web=0", "web", 0, false}, {"web=-1", "", 0, true}, {"web", "", 0, true},
		{"=2", "", 0, true}, {"web=x", "", 0, true},
	} {
		svc, n, err := parseScale(tt.in)
		if (err != nil) != tt.fail || svc != tt.svc || n != tt.n {
			t.Errorf("parseScale(%q) = %q %d %v", tt.in, svc, n, err)
		}
	}
}

func TestLogPrefixes(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	boxes := goldenBoxes(now)[:3]
	var pbs []projectBox
	for i, n := range []string{"shop-web-1", "shop-api-1", "shop-web-10"} {
		boxes[i].Name = n
		pbs = append(pbs, projectBox{Box: boxes[i], service: strings.Split(n, "-")[1]})
	}
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut}
	p := newLogPrinter(c, "shop", pbs, logOptions{})
	p.print(logLine{boxes[0].ID, &runtime.LogEntry{Log: "hello\n", Stream: "stdout", Time: now}})
	p.print(logLine{boxes[1].ID, &runtime.LogEntry{Log: "oops\n", Stream: "stderr", Time: now}})
	p.print(logLine{boxes[2].ID, &runtime.LogEntry{Log: "no newline", Stream: "stdout", Time: now}})
	if want := "web-1   | hello\nweb-10  | no newline\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := "api-1   | oops\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	out.Reset()
	p = newLogPrinter(c, "shop", pbs, logOptions{noPrefix: true, stamps: true})
	p.print(logLine{boxes[0].ID, &runtime.LogEntry{Log: "hello\n", Stream: "stdout", Time: now}})
	if want := "2026-11-29T12:00:00Z hello\n"; out.String() != want {
		t.Errorf("no prefix, timestamps: %q, want %q", out.String(), want)
	}
}

// TestBoxFilterLabels: label filters AND, as Docker's; other keys OR.
func TestBoxFilterLabels(t *testing.T) {
	now := time.Now()
	boxes := goldenBoxes(now)
	boxes[0].Spec.Labels = map[string]string{"a": "1", "b": "2"}
	boxes[1].Spec.Labels = map[string]string{"a": "1"}
	var names []string
	for _, args := range [][]string{{"label=a", "label=b=2"}, {"label=a=1"}, {"name=web-healthy", "name=web-starting"}} {
		f, err := newBoxFilter(args, boxes)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range boxes {
			if f.match(b) {
				got = append(got, b.Name)
			}
		}
		names = append(names, strings.Join(got, ","))
	}
	if want := []string{"web-healthy", "web-healthy,web-starting", "web-healthy,web-starting"}; !slices.Equal(names, want) {
		t.Errorf("got %q, want %q", names, want)
	}
}
