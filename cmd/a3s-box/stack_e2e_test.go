package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeStack writes a stack file whose boxes use the test image.
func writeStack(t *testing.T, path, body string) {
	t.Helper()
	body = strings.ReplaceAll(body, "IMAGE", e2e.image)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const stackV1 = `name: st
boxes:
  db:
    image: IMAGE
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
  api:
    image: IMAGE
    command: ["sh", "-c", "echo api up; exec sleep 1000"]
    environment:
      MODE: one
    depends_on:
      db:
        condition: healthy
  worker:
    image: IMAGE
    command: ["sleep", "1000"]
`

func TestApplyStack(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "st.yaml")
	writeStack(t, file, stackV1)
	t.Cleanup(func() { a3s(t, "delete", "st") })

	// plan shows what apply will do, changes nothing, and says so by
	// its status.
	p := a3s(t, "plan", "-f", file)
	if p.code != 2 || strings.Count(p.stdout, "create ") != 3 {
		t.Fatalf("plan before apply: code %d stdout %q stderr %q; want 3 creates and status 2", p.code, p.stdout, p.stderr)
	}
	if ps := a3s(t, "ps", "-a", "--filter", "label=a3s-box.stack=st", "-q"); ps.stdout != "" {
		t.Fatalf("plan created boxes: %q", ps.stdout)
	}

	r := a3s(t, "apply", "-f", file, "--wait")
	if r.code != 0 {
		t.Fatalf("apply: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// api waited for db to be healthy before it started.
	apiStarted := field(t, "st-api-1", "{{.State.StartedAt}}")
	if got := field(t, "st-db-1", "{{.State.Health.Status}}"); got != "healthy" {
		t.Fatalf("db is %s after apply --wait", got)
	}
	firstHealthy := healthyTime(t, "st-db-1")
	if apiStarted < firstHealthy {
		t.Fatalf("api started at %s, before db was healthy at %s", apiStarted, firstHealthy)
	}
	ps := a3s(t, "ps", "--filter", "label=com.docker.compose.project=st", "--format", "{{.Names}}")
	for _, n := range []string{"st-db-1", "st-api-1", "st-worker-1"} {
		if !strings.Contains(ps.stdout, n) {
			t.Fatalf("ps lacks %s: %q", n, ps.stdout)
		}
	}

	// A second apply of the same stack does nothing.
	ids := func() string { return a3s(t, "ps", "-q", "--no-trunc", "--filter", "label=a3s-box.stack=st").stdout }
	before := ids()
	if r := a3s(t, "apply", "-f", file); r.code != 0 || !strings.Contains(r.stdout, "up to date") || strings.Contains(r.stdout, " - ") {
		t.Fatalf("second apply: code %d stdout %q", r.code, r.stdout)
	}
	if p := a3s(t, "plan", "-f", file); p.code != 0 {
		t.Fatalf("plan after apply: code %d %q", p.code, p.stdout)
	}
	if ids() != before {
		t.Fatal("a second apply changed the boxes")
	}

	// Changing one box's environment recreates exactly that box, and plan
	// says so first.
	apiID, workerID, dbID := field(t, "st-api-1", "{{.Id}}"), field(t, "st-worker-1", "{{.Id}}"), field(t, "st-db-1", "{{.Id}}")
	writeStack(t, file, strings.Replace(stackV1, "MODE: one", "MODE: two", 1))
	p = a3s(t, "plan", "-f", file)
	if p.code != 2 || !regexp.MustCompile(`(?m)^recreate +st-api-1 \(config changed\)$`).MatchString(p.stdout) || strings.Count(strings.TrimSpace(p.stdout), "\n") != 0 {
		t.Fatalf("plan after the edit: code %d stdout %q", p.code, p.stdout)
	}
	if r := a3s(t, "apply", "-f", file); r.code != 0 {
		t.Fatalf("apply of the edit: %s", r.stderr)
	}
	if field(t, "st-api-1", "{{.Id}}") == apiID {
		t.Fatal("api was not recreated")
	}
	if field(t, "st-worker-1", "{{.Id}}") != workerID || field(t, "st-db-1", "{{.Id}}") != dbID {
		t.Fatal("a box whose config did not change was recreated")
	}
	if env := field(t, "st-api-1", "{{json .Config.Env}}"); !strings.Contains(env, "MODE=two") {
		t.Fatalf("recreated api env %s", env)
	}

	// A box removed from the file stays without --prune, goes with it.
	noWorker := strings.Replace(strings.Replace(stackV1, "MODE: one", "MODE: two", 1), "  worker:\n    image: IMAGE\n    command: [\"sleep\", \"1000\"]\n", "", 1)
	writeStack(t, file, noWorker)
	if r := a3s(t, "apply", "-f", file); r.code != 0 || !strings.Contains(r.stdout, "st-worker-1: kept") {
		t.Fatalf("apply without --prune: code %d stdout %q", r.code, r.stdout)
	}
	if p := a3s(t, "plan", "--prune", "-f", file); p.code != 2 || !strings.Contains(p.stdout, "remove   st-worker-1") {
		t.Fatalf("plan --prune: code %d stdout %q", p.code, p.stdout)
	}
	if r := a3s(t, "apply", "--prune", "-f", file); r.code != 0 {
		t.Fatalf("apply --prune: %s", r.stderr)
	}
	if r := a3s(t, "inspect", "st-worker-1"); r.code != 1 {
		t.Fatal("st-worker-1 still exists after apply --prune")
	}
	st := a3s(t, "stacks")
	if !regexp.MustCompile(`(?m)^st +2 +3 +3 +2/2 running +file `).MatchString(st.stdout) {
		t.Fatalf("stacks: %q", st.stdout)
	}

	// update is an edit of the desired state: the stack keeps the new
	// setting, the box's config hash moves with it (so a reconcile of
	// the stored state leaves the box be), and the file, which says
	// otherwise, would recreate it.
	dbID = field(t, "st-db-1", "{{.Id}}")
	if r := a3s(t, "update", "--cpus", "1", "--restart", "on-failure:2", "st-db-1"); r.code != 0 {
		t.Fatalf("update: code %d stderr %q", r.code, r.stderr)
	}
	var recs []struct {
		Stack struct {
			Boxes map[string]struct {
				CPUs    float64 `json:"cpus"`
				Restart string  `json:"restart"`
			} `json:"boxes"`
		} `json:"stack"`
		Boxes map[string]struct{ Hash string } `json:"boxes"`
	}
	if err := json.Unmarshal([]byte(a3s(t, "stack", "inspect", "st").stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("stack inspect: %v", err)
	}
	if db := recs[0].Stack.Boxes["db"]; db.CPUs != 1 || db.Restart != "on-failure:2" {
		t.Errorf("the stack's db after update: %+v", db)
	}
	if h := recordLabels(t, e2e.root, "st-db-1")["a3s-box.config-hash"]; h != recs[0].Boxes["db"].Hash {
		t.Errorf("db's config hash %s, the stack's %s", h, recs[0].Boxes["db"].Hash)
	}
	if p := a3s(t, "plan", "-f", file); p.code != 2 || !regexp.MustCompile(`(?m)^recreate +st-db-1 \(config changed\)$`).MatchString(p.stdout) {
		t.Errorf("plan of the file after update: code %d stdout %q", p.code, p.stdout)
	}
	if field(t, "st-db-1", "{{.Id}}") != dbID {
		t.Error("update recreated the box")
	}
	if r := a3s(t, "delete", "-f", file); r.code != 0 {
		t.Fatalf("delete: %s", r.stderr)
	}
	if ids() != "" {
		t.Fatal("delete left boxes")
	}
}

// healthyTime is when a box's health check first passed.
func healthyTime(t *testing.T, box string) string {
	t.Helper()
	out := field(t, box, `{{range .State.Health.Log}}{{if not .ExitCode}}{{println .End}}{{end}}{{end}}`)
	lines := strings.Fields(out)
	if len(lines) == 0 {
		t.Fatalf("%s has no passing health check", box)
	}
	return lines[0]
}

func TestApplyBadStackChangesNothing(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeStack(t, good, "name: bad\nboxes:\n  a:\n    image: IMAGE\n    command: [\"sleep\", \"1000\"]\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeStack(t, bad, "name: bad\nboxes:\n  a:\n    image: IMAGE\n    comand: [\"sleep\", \"1\"]\n  b:\n    image: IMAGE\n    depends_on: [c]\n")
	t.Cleanup(func() { a3s(t, "delete", "bad") })
	if r := a3s(t, "apply", "-f", good); r.code != 0 {
		t.Fatal(r.stderr)
	}
	id := field(t, "bad-a-1", "{{.Id}}")
	r := a3s(t, "apply", "--prune", "-f", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml:5") || !strings.Contains(r.stderr, "command") || !strings.Contains(r.stderr, "bad.yaml:8") {
		t.Fatalf("bad stack: code %d stderr %q; want each problem with file:line and a suggestion", r.code, r.stderr)
	}
	if field(t, "bad-a-1", "{{.Id}} {{.State.Status}}") != id+" running" {
		t.Fatal("a stack that failed to parse changed the running box")
	}
	if gen := a3s(t, "stacks", "--format", "json").stdout; !strings.Contains(gen, `"generation":1`) {
		t.Fatalf("the stored stack changed: %s", gen)
	}
}

// TestApplyExamples applies every example stack, with its images pointed
// at the test registry, and waits for it to be up and healthy.
func TestApplyExamples(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "stacks")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b = []byte(strings.ReplaceAll(string(b), "image: busybox", "image: "+e2e.image))
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, stack string }{
		{"web.yaml", "web"}, {"app.yaml", "app"}, {"compose/compose.yaml", "hello-compose"},
	} {
		t.Run(tt.stack, func(t *testing.T) {
			t.Cleanup(func() { a3s(t, "delete", tt.stack) })
			cmd := command(t.Context(), e2e.root, "apply", "--wait", "--timeout", "3m", "-f", filepath.Join(dir, tt.file))
			cmd.Env = append(cmd.Env, "IMAGE="+e2e.image)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("apply %s: %v\n%s", tt.file, err, out)
			}
			// Every field the examples use is acted on: no warning.
			if strings.Contains(string(out), "not supported yet") {
				t.Errorf("apply of %s warned of fields it ignores:\n%s", tt.file, out)
			}
			if r := a3s(t, "stacks"); !strings.Contains(r.stdout, tt.stack+" ") {
				t.Fatalf("stacks lacks %s: %q", tt.stack, r.stdout)
			}
		})
	}
}
