package main

import (
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
)

// TestKillThenRemove: kill returns once the box is down, so an rm right
// after it succeeds, as `docker kill X && docker rm X` does.
func TestKillThenRemove(t *testing.T) {
	needE2E(t)
	runDetached(t, "compat-kill", e2e.image, "sleep", "300")
	if r := a3s(t, "kill", "compat-kill"); r.code != 0 || r.stdout != "compat-kill\n" {
		t.Fatalf("kill: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := a3s(t, "rm", "compat-kill"); r.code != 0 || r.stdout != "compat-kill\n" {
		t.Fatalf("rm right after kill: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// eventsSince lists the events from since to now that the filters keep,
// one line each in the format given.
func eventsSince(t *testing.T, since time.Time, format string, filters ...string) []string {
	t.Helper()
	args := []string{"events", "--since", since.Format(time.RFC3339Nano), "--until", "0s", "--format", format}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	r := a3s(t, args...)
	if r.code != 0 {
		t.Fatalf("events: code %d: %s", r.code, r.stderr)
	}
	return strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
}

// TestEventsDockerSequences: stop and kill report their signals as kill
// events before die; exec reports exec_create, exec_start and exec_die
// with its exit code; the image verbs report theirs.
func TestEventsDockerSequences(t *testing.T) {
	needE2E(t)
	since := time.Now()
	runDetached(t, "compat-ev", e2e.image, "sleep", "300")
	if r := a3s(t, "exec", "compat-ev", "sh", "-c", "exit 3"); r.code != 3 {
		t.Fatalf("exec: code %d, want 3: %s", r.code, r.stderr)
	}
	ok(t, e2e.root, "stop", "-t", "5", "compat-ev")
	ok(t, e2e.root, "start", "compat-ev")
	ok(t, e2e.root, "kill", "compat-ev")
	got := eventsSince(t, since, `{{.Action}}{{with index .Actor.Attributes "signal"}} signal={{.}}{{end}}{{with index .Actor.Attributes "exitCode"}} exitCode={{.}}{{end}}`, "container=compat-ev")
	want := []string{
		"create", "start",
		"exec_create: sh -c exit 3", "exec_start: sh -c exit 3", "exec_die exitCode=3",
		"kill signal=15", "die exitCode=143", "stop",
		"start", "kill signal=9", "die exitCode=137",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := eventsSince(t, since, "{{.Action}}", "container=compat-ev", "event=exec_start"); len(got) != 1 || got[0] != "exec_start: sh -c exit 3" {
		t.Fatalf("--filter event=exec_start: %q", got)
	}

	imgSince := time.Now()
	ok(t, e2e.root, "tag", e2e.image, "compat-ev-img:1")
	archive := filepath.Join(t.TempDir(), "img.tar")
	ok(t, e2e.root, "save", "-o", archive, "compat-ev-img:1")
	ok(t, e2e.root, "rmi", "compat-ev-img:1")
	ok(t, e2e.root, "load", "-i", archive)
	ok(t, e2e.root, "rmi", "compat-ev-img:1")
	id := strings.TrimSpace(ok(t, e2e.root, "image", "inspect", "-f", "{{.Id}}", e2e.image))
	got = eventsSince(t, imgSince, "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}", "type=image")
	want = []string{
		"image tag " + id + " compat-ev-img:1",
		"image save " + id + " " + id,
		"image untag " + id + " compat-ev-img:1",
		"image load " + id + " " + id,
		"image untag " + id + " compat-ev-img:1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("image events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := eventsSince(t, imgSince, "{{.Action}}", "image=compat-ev-img:1", "event=tag"); len(got) != 1 || got[0] != "tag" {
		t.Fatalf("--filter image=compat-ev-img:1 --filter event=tag: %q", got)
	}
}

// TestStopTimeoutFlag: --timeout, Docker 28's spelling of -t, is the grace
// period of stop and restart.
func TestStopTimeoutFlag(t *testing.T) {
	needE2E(t)
	runDetached(t, "compat-timeout", e2e.image, "sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done")
	waitFor(t, 10*time.Second, "the box's trap", func() bool { return a3s(t, "logs", "compat-timeout").stdout != "" })
	// ps spells the command as moby does.
	if got := ok(t, e2e.root, "ps", "--filter", "name=compat-timeout", "--format", "{{.Command}}"); got != "\"sh -c 'trap '' TERM…\"\n" {
		t.Errorf("ps {{.Command}}: %q", got)
	}
	timed := func(verb string) time.Duration {
		began := time.Now()
		if r := a3s(t, verb, "--timeout", "1", "compat-timeout"); r.code != 0 {
			t.Fatalf("%s --timeout 1: code %d: %s", verb, r.code, r.stderr)
		}
		return time.Since(began)
	}
	if took := timed("restart"); took < time.Second {
		t.Fatalf("restart --timeout 1 of a box ignoring SIGTERM took %s, less than its grace period", took)
	}
	waitFor(t, 10*time.Second, "the restarted box's trap", func() bool { return a3s(t, "logs", "compat-timeout").stdout == "up\nup\n" })
	if took := timed("stop"); took < time.Second || took > 8*time.Second {
		t.Fatalf("stop --timeout 1 of a box ignoring SIGTERM took %s, want about 1s", took)
	}
	if got := field(t, "compat-timeout", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Fatalf("after stop --timeout 1: %s, want exited 137", got)
	}
}

// TestContainerPrune: container prune removes the stopped boxes the
// filters select, leaves running ones, and prints Docker's report.
func TestContainerPrune(t *testing.T) {
	needE2E(t)
	root := e2e.root
	for _, n := range []string{"compat-gone", "compat-kept", "compat-up"} {
		defer a3sIn(t, root, "rm", "-f", n)
	}
	ok(t, root, "create", "--name", "compat-gone", "-l", "compat-prune=yes", e2e.image, "true")
	ok(t, root, "create", "--name", "compat-kept", "-l", "compat-prune=no", e2e.image, "true")
	ok(t, root, "run", "-d", "--name", "compat-up", "-l", "compat-prune=yes", e2e.image, "sleep", "300")
	gone := strings.TrimSpace(ok(t, root, "inspect", "-f", "{{.Id}}", "compat-gone"))

	// Without -f it asks, and a no leaves everything.
	cmd := command(context.Background(), root, "container", "prune", "--filter", "label=compat-prune=yes")
	cmd.Stdin = strings.NewReader("n\n")
	out, err := cmd.Output()
	if err == nil || !strings.HasPrefix(string(out), "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ") {
		t.Fatalf("prune answered no: %v, %q", err, out)
	}
	if names := ok(t, root, "ps", "-a", "--filter", "label=compat-prune", "--format", "{{.Names}}"); len(strings.Fields(names)) != 3 {
		t.Fatalf("a prune answered no removed boxes: %q", names)
	}
	got := ok(t, root, "container", "prune", "-f", "--filter", "label=compat-prune=yes")
	if !regexp.MustCompile(`^Deleted Containers:\n` + gone + `\n\nTotal reclaimed space: \d+(\.\d+)?[kMG]?B\n$`).MatchString(got) {
		t.Fatalf("container prune printed %q", got)
	}
	names := strings.Fields(ok(t, root, "ps", "-a", "--filter", "label=compat-prune", "--format", "{{.Names}}"))
	sort.Strings(names)
	if strings.Join(names, " ") != "compat-kept compat-up" {
		t.Fatalf("after prune: %q, want the box of another label and the running one", names)
	}
	if got := ok(t, root, "container", "prune", "-f", "--filter", "label=compat-prune=yes"); got != "Total reclaimed space: 0B\n" {
		t.Fatalf("a prune with nothing to remove printed %q", got)
	}
	if help := ok(t, root, "container", "--help"); !strings.Contains(help, "\n  prune       Remove all stopped boxes\n") ||
		!strings.HasSuffix(help, "\nRun 'a3s-box container COMMAND --help' for more information on a command.\n") {
		t.Fatalf("container --help:\n%s", help)
	}
}

// TestVersionServer: version has Docker's Server half, the same build as
// the client, with the commit make build stamped.
func TestVersionServer(t *testing.T) {
	needE2E(t)
	got := strings.Fields(ok(t, e2e.root, "version", "--format", "{{.Server.Version}} {{.Client.Version}} {{.Server.APIVersion}} {{.Client.Protocol}} {{.Server.GitCommit}} {{.Server.Os}}/{{.Server.Arch}}"))
	if len(got) != 6 || got[0] != got[1] || got[2] != got[3] || !regexp.MustCompile(`^[0-9a-f]{7}$`).MatchString(got[4]) || got[5] != "linux/amd64" {
		t.Fatalf("version --format: %q", got)
	}
	text := ok(t, e2e.root, "version")
	if !strings.Contains(text, "\n\nServer: a3s-box\n Engine:\n  Version:          "+got[0]+"\n") || !strings.Contains(text, "\n qemu-microvm:\n  Version:          ") {
		t.Fatalf("version:\n%s", text)
	}
}

// recordLabels reads a box's labels from its record on disk, where
// a3s-box's own labels stay.
func recordLabels(t *testing.T, root, box string) map[string]string {
	t.Helper()
	id := strings.TrimSpace(ok(t, root, "inspect", "-f", "{{.Id}}", box))
	var rec struct {
		Spec struct {
			Labels map[string]string `json:"labels"`
		} `json:"spec"`
	}
	if err := statefile.ReadJSON(filepath.Join(root, "boxes", id, "config.json"), &rec); err != nil {
		t.Fatalf("read box %s's record: %v", box, err)
	}
	return rec.Spec.Labels
}

// TestInternalLabelsHidden: a3s-box's own labels stay in the record and
// in label filters, and out of ps, inspect and events.
func TestInternalLabelsHidden(t *testing.T) {
	needE2E(t)
	since := time.Now()
	runDetached(t, "compat-labels", "-l", "tier=web", e2e.image, "sleep", "300")
	if l := recordLabels(t, e2e.root, "compat-labels"); l["a3s-box.stack"] != "_boxes" || l["a3s-box.box"] != "compat-labels" || l["a3s-box.config-hash"] == "" {
		t.Fatalf("the record lacks a3s-box's labels: %v", l)
	}
	if got := ok(t, e2e.root, "ps", "--filter", "name=compat-labels", "--format", "{{.Labels}}"); got != "tier=web\n" {
		t.Errorf("ps {{.Labels}}: %q, want tier=web alone", got)
	}
	if got := ok(t, e2e.root, "ps", "--filter", "name=compat-labels", "--format", "table {{.Names}}\t{{.Labels}}"); strings.Contains(got, "a3s-box.") {
		t.Errorf("ps LABELS:\n%s", got)
	}
	if got := field(t, "compat-labels", "{{json .Config.Labels}}"); got != `{"tier":"web"}` {
		t.Errorf("inspect .Config.Labels: %s", got)
	}
	if got := ok(t, e2e.root, "ps", "-q", "--filter", "label=a3s-box.stack=_boxes", "--filter", "name=compat-labels"); got == "" {
		t.Errorf("ps --filter label=a3s-box.stack=_boxes does not find the box")
	}
	for _, ev := range eventsSince(t, since, "{{json .Actor.Attributes}}", "container=compat-labels") {
		if strings.Contains(ev, "a3s-box.") || !strings.Contains(ev, `"tier":"web"`) {
			t.Errorf("event attributes %s", ev)
		}
	}
}
