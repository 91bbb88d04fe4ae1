package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The compose project of the end-to-end test: db becomes healthy a few
// seconds after it starts, api waits for that and has a health check of
// its own, web depends on api and ticks. db and api share a named volume
// and a declared network (backend); api and web are on the project's
// default network, so web cannot reach db. api publishes a port on
// 127.0.0.1 (PORT, chosen free when the test runs).
const (
	composeServices = `services:
  db:
    image: IMAGE
    command: ["sh", "-c", "echo db starting; echo db > /data/from-db; sleep 2; touch /tmp/ready; echo db ready; exec sleep 1000"]
    volumes: ["data:/data"]
    networks: [backend]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 60
  api:
    image: IMAGE
    command: ["sh", "-c", "echo api up; exec sleep 1000"]
    volumes: ["data:/shared:ro"]
    networks: [backend, default]
    ports: ["127.0.0.1:PORT:80"]
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: IMAGE
    command: ["sh", "-c", "while true; do echo web tick; sleep 1; done"]
    depends_on: [api]
`
	composeVolumes  = "volumes:\n  data:\n"
	composeNetworks = "networks:\n  backend:\n"
)

// writeCompose writes the test project into dir/compose.yaml, with web's
// port published on host port port.
func writeCompose(t *testing.T, dir string, port int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(composeServices+composeVolumes+composeNetworks, "PORT", strconv.Itoa(port))
	writeStack(t, filepath.Join(dir, "compose.yaml"), body)
}

// composeIn runs `a3s-box compose ARGS` in dir, as a user in the
// project's directory does.
func composeIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return call{root: e2e.root, dir: dir}.run(t, append([]string{"compose"}, args...)...)
}

// composeOK is composeIn that fails the test unless it exits 0.
func composeOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := composeIn(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("compose %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// projectBoxNames are the names of project shop's boxes, all states.
func projectBoxNames(t *testing.T, dir string) []string {
	t.Helper()
	return strings.Fields(composeOK(t, dir, "ps", "-a", "--format", "{{.Name}}"))
}

// TestComposeBadInput: each mistake is one line, exit 1, and nothing of
// the project is made.
func TestComposeBadInput(t *testing.T) {
	needE2E(t)
	dir := filepath.Join(t.TempDir(), "badproj")
	writeCompose(t, dir, freePort(t))
	bad := filepath.Join(dir, "broken.yaml")
	writeStack(t, bad, "services:\n  web:\n    image: IMAGE\n    comand: [true]\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", bad, "up", "-d"}, "broken.yaml:4: services.web.comand"},
		{[]string{"up", "-d", "nosuch"}, "no such service: nosuch"},
		{[]string{"up", "-d", "--scale", "nosuch=2"}, "no such service: nosuch"},
		{[]string{"up", "-d", "--scale", "web=-1"}, "invalid --scale"},
		{[]string{"exec", "web", "true"}, `service "web" is not running`},
		{[]string{"logs", "nosuch"}, "no such service: nosuch"},
	} {
		failsWith(t, composeIn(t, dir, tt.args...), 1, tt.want)
	}
	if r := composeIn(t, dir, "nosuch"); r.code != 1 || !strings.HasPrefix(r.stderr, "a3s-box: 'nosuch' is not an a3s-box compose command.\nSee 'a3s-box compose --help'.") {
		t.Errorf("unknown verb: exit %d %q", r.code, r.stderr)
	}
	if names := projectBoxNames(t, dir); len(names) != 0 {
		t.Fatalf("boxes made by failed commands: %v", names)
	}
	if r := a3s(t, "stack", "inspect", "badproj"); r.code == 0 {
		t.Fatalf("a failed compose up stored the project: %s", r.stdout)
	}
	empty := t.TempDir()
	failsWith(t, composeIn(t, empty, "up", "-d"), 1, "no configuration file provided")
}

// TestCompose drives one project through compose's verbs, sharing its
// boxes between the steps (7 boots in all).
func TestCompose(t *testing.T) {
	needE2E(t)
	dir := filepath.Join(t.TempDir(), "shop")
	webPort := freePort(t)
	writeCompose(t, dir, webPort)
	t.Cleanup(func() { composeIn(t, dir, "down", "-t", "0") })
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("config", func(t *testing.T) {
		if out := composeOK(t, dir, "config", "--services"); out != "api\ndb\nweb\n" {
			t.Fatalf("config --services: %q", out)
		}
		if out := composeOK(t, dir, "config"); !strings.HasPrefix(out, "name: shop\nservices:\n") || !strings.Contains(out, "condition: service_healthy") {
			t.Fatalf("config:\n%s", out)
		}
	})

	step("up --wait returns once all are healthy", func(t *testing.T) {
		start := time.Now()
		composeOK(t, dir, "up", "-d", "--wait")
		t.Logf("up -d --wait took %s", time.Since(start).Round(time.Millisecond))
		for _, box := range []string{"shop-db-1", "shop-api-1"} {
			if got := field(t, box, "{{.State.Health.Status}}"); got != "healthy" {
				t.Errorf("%s is %s after up --wait", box, got)
			}
		}
		if got := field(t, "shop-web-1", "{{.State.Status}}"); got != "running" {
			t.Errorf("web is %s", got)
		}
		// Events are in the order they happened: db's first healthy
		// status comes before api's start.
		events := a3s(t, "events", "--since", "10m", "--until", "0s", "--filter", "container=shop-db-1", "--filter", "container=shop-api-1",
			"--format", "{{.Actor.Attributes.name}} {{.Action}}").stdout
		healthy, apiStart := strings.Index(events, "shop-db-1 health_status: healthy"), strings.Index(events, "shop-api-1 start")
		if healthy < 0 || apiStart < healthy {
			t.Errorf("api did not wait for db to be healthy:\n%s", events)
		}
		if again := composeOK(t, dir, "up", "-d"); strings.Contains(again, " - ") {
			t.Errorf("a second up changed something:\n%s", again)
		}
	})

	step("ps", func(t *testing.T) {
		out := composeOK(t, dir, "ps")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		header := regexp.MustCompile(`^NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS$`)
		if len(lines) != 4 || !header.MatchString(lines[0]) {
			t.Fatalf("compose ps:\n%s", out)
		}
		for i, want := range []string{`^shop-api-1 +\S+ +"sh -c 'echo api up;…" +api +.* ago +Up .*\(healthy\)`,
			`^shop-db-1 +\S+ +".*" +db +.* +Up .*\(healthy\)`, `^shop-web-1 +\S+ +".*" +web +.* +Up `} {
			if !regexp.MustCompile(want).MatchString(lines[i+1]) {
				t.Errorf("row %d %q does not match %s", i+1, lines[i+1], want)
			}
		}
		if got := composeOK(t, dir, "ps", "--services"); got != "api\ndb\nweb\n" {
			t.Errorf("ps --services: %q", got)
		}
		var row map[string]any
		first, _, _ := strings.Cut(composeOK(t, dir, "ps", "--format", "json", "db"), "\n")
		if err := json.Unmarshal([]byte(first), &row); err != nil || row["Name"] != "shop-db-1" || row["Service"] != "db" || row["Project"] != "shop" || row["Health"] != "healthy" {
			t.Errorf("ps --format json db: %v %v", row, err)
		}
		if got := a3s(t, "ps", "--filter", "label=com.docker.compose.service=web", "--filter", "label=com.docker.compose.project=shop", "--format", "{{.Names}} {{.Label \"com.docker.compose.container-number\"}} {{.Label \"com.docker.compose.oneoff\"}}").stdout; got != "shop-web-1 1 False\n" {
			t.Errorf("ps --filter label=...service=web: %q", got)
		}
		if got := composeOK(t, dir, "ls"); !regexp.MustCompile(`(?m)^shop +running\(3\) +` + regexp.QuoteMeta(filepath.Join(dir, "compose.yaml")) + `$`).MatchString(got) {
			t.Errorf("compose ls:\n%s", got)
		}
		if got := composeOK(t, dir, "images"); !regexp.MustCompile(`(?m)^shop-db-1 +\S+/test/busybox +1 +[0-9a-f]{12} +\S+B$`).MatchString(got) {
			t.Errorf("compose images:\n%s", got)
		}
		if got := composeOK(t, dir, "top", "db"); !strings.HasPrefix(got, "shop-db-1\nUID ") || !strings.Contains(got, "sleep 1000") || strings.Contains(got, "kthreadd") {
			t.Errorf("compose top db:\n%s", got)
		}
		published := fmt.Sprintf("127.0.0.1:%d", webPort)
		if got := composeOK(t, dir, "port", "api", "80"); got != published+"\n" {
			t.Errorf("compose port api 80: %q, want %s", got, published)
		}
		if !strings.Contains(lines[1], published+"->80/tcp") {
			t.Errorf("api's PORTS column lacks %s->80/tcp: %q", published, lines[1])
		}
		failsWith(t, composeIn(t, dir, "port", "web", "80"), 1, "no public port '80/tcp' published for shop-web-1")
		if got := a3s(t, "network", "ls", "--filter", "label=com.docker.compose.project=shop", "--format", "{{.Name}}").stdout; got != "shop_backend\nshop_default\n" {
			t.Errorf("the project's networks: %q", got)
		}
	})

	step("logs", func(t *testing.T) {
		out := composeOK(t, dir, "logs")
		var order []string
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			m := regexp.MustCompile(`^(api-1|db-1 |web-1)  \| (.*)$`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %q lacks compose's prefix; logs:\n%s", line, out)
			}
			if !slices.Contains(order, m[2]) {
				order = append(order, m[2])
			}
		}
		want := []string{"db starting", "db ready", "api up", "web tick"}
		if !slices.Equal(order, want) {
			t.Errorf("lines in the order %q, want %q (interleaved by time)", order, want)
		}
		if got := composeOK(t, dir, "logs", "--no-log-prefix", "db"); got != "db starting\ndb ready\n" {
			t.Errorf("logs --no-log-prefix db: %q", got)
		}
		if got := composeOK(t, dir, "logs", "--tail", "1", "web"); !regexp.MustCompile(`^web-1  \| web tick\n$`).MatchString(got) {
			t.Errorf("logs --tail 1 web: %q", got)
		}
	})

	step("exec", func(t *testing.T) {
		r := composeIn(t, dir, "exec", "api", "sh", "-c", "echo $HOSTNAME; exit 3")
		if r.code != 3 || strings.TrimSpace(r.stdout) != field(t, "shop-api-1", "{{.Config.Hostname}}") {
			t.Errorf("exec api: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		if got := composeOK(t, dir, "exec", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd)"); got != "1 /tmp\n" {
			t.Errorf("exec -e -w: %q", got)
		}
		// api shares backend with db and finds it by service name; web,
		// on the default network only, cannot.
		if got := composeOK(t, dir, "exec", "api", "sh", "-c", "ping -c 1 -W 5 db >/dev/null; echo rc=$?"); got != "rc=0\n" {
			t.Errorf("api pings db on backend: %q", got)
		}
		if got := composeOK(t, dir, "exec", "web", "sh", "-c", "ping -c 1 -W 2 db >/dev/null 2>&1; echo rc=$?"); got == "rc=0\n" {
			t.Error("web, not on backend, reached db")
		}
		if got := composeOK(t, dir, "exec", "web", "sh", "-c", "ping -c 1 -W 5 api >/dev/null; echo rc=$?"); got != "rc=0\n" {
			t.Errorf("web pings api on the default network: %q", got)
		}
		// db wrote into the project's named volume; api mounts it too.
		if got := composeOK(t, dir, "exec", "api", "cat", "/shared/from-db"); got != "db\n" {
			t.Errorf("api reads db's write in the shared volume: %q", got)
		}
	})

	step("scale up and down", func(t *testing.T) {
		web1 := field(t, "shop-web-1", "{{.Id}}")
		composeOK(t, dir, "up", "-d", "--scale", "web=2")
		if got := projectBoxNames(t, dir); !slices.Equal(got, []string{"shop-api-1", "shop-db-1", "shop-web-1", "shop-web-2"}) {
			t.Fatalf("after --scale web=2: %v", got)
		}
		if got := composeOK(t, dir, "exec", "--index", "2", "web", "hostname"); strings.TrimSpace(got) != field(t, "shop-web-2", "{{.Config.Hostname}}") {
			t.Errorf("exec --index 2: %q", got)
		}
		composeOK(t, dir, "up", "-d", "--scale", "web=1")
		if got := projectBoxNames(t, dir); !slices.Equal(got, []string{"shop-api-1", "shop-db-1", "shop-web-1"}) {
			t.Fatalf("after --scale web=1: %v", got)
		}
		if field(t, "shop-web-1", "{{.Id}}") != web1 {
			t.Error("scaling recreated web-1")
		}
	})

	step("run", func(t *testing.T) {
		r := composeIn(t, dir, "run", "--rm", "-e", "WHO=one-off", "web", "sh", "-c", "echo $WHO; exit 4")
		if r.code != 4 || r.stdout != "one-off\n" {
			t.Fatalf("run --rm: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		if got := projectBoxNames(t, dir); len(got) != 3 {
			t.Errorf("the --rm one-off stayed: %v", got)
		}
	})

	step("restart", func(t *testing.T) {
		before := field(t, "shop-web-1", "{{.State.StartedAt}}")
		composeOK(t, dir, "restart", "web")
		if after := field(t, "shop-web-1", "{{.State.StartedAt}} {{.State.Status}}"); after <= before || !strings.HasSuffix(after, " running") {
			t.Errorf("web-1 started %s, then %s", before, after)
		}
	})

	step("foreground up follows the logs and Ctrl-C stops the project", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := command(ctx, e2e.root, "compose", "up")
		cmd.Dir = dir
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "web's output in the foreground up", func() bool { return strings.Contains(out.String(), "web-1  | web tick") })
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(out.String(), "Gracefully stopping...") {
			t.Fatalf("exit %d, output:\n%s", code, out.String())
		}
		if got := composeOK(t, dir, "ps", "-a", "--format", "{{.Name}} {{.State}}"); got != "shop-api-1 exited\nshop-db-1 exited\nshop-web-1 exited\n" {
			t.Fatalf("after Ctrl-C: %q", got)
		}
		failsWith(t, composeIn(t, dir, "exec", "web", "true"), 1, `service "web" is not running`)
		if got := composeOK(t, dir, "ls", "-a"); !regexp.MustCompile(`(?m)^shop +exited\(3\) `).MatchString(got) {
			t.Errorf("compose ls -a:\n%s", got)
		}
	})

	step("start", func(t *testing.T) {
		composeOK(t, dir, "start", "db")
		if got := composeOK(t, dir, "ps", "-a", "--format", "{{.Name}} {{.State}}"); got != "shop-api-1 exited\nshop-db-1 running\nshop-web-1 exited\n" {
			t.Fatalf("after start db: %q", got)
		}
	})

	step("down", func(t *testing.T) {
		composeOK(t, dir, "down")
		if got := projectBoxNames(t, dir); len(got) != 0 {
			t.Fatalf("boxes after down: %v", got)
		}
		if got := a3s(t, "volume", "ls", "-q", "--filter", "name=shop_data").stdout; got != "shop_data\n" {
			t.Fatalf("down without -v removed the named volume: %q", got)
		}
		if got := a3s(t, "network", "ls", "--filter", "label=com.docker.compose.project=shop", "--format", "{{.Name}}").stdout; got != "" {
			t.Fatalf("down kept the project's networks: %q", got)
		}
		composeOK(t, dir, "down", "-v")
		if got := a3s(t, "volume", "ls", "-q", "--filter", "name=shop_data").stdout; got != "" {
			t.Fatalf("down -v kept the named volume: %q", got)
		}
		if r := a3s(t, "stack", "inspect", "shop"); r.code == 0 {
			t.Fatal("down left the project's desired state")
		}
		if got := composeOK(t, dir, "ls", "-a"); strings.Contains(got, "shop") {
			t.Errorf("compose ls -a after down:\n%s", got)
		}
	})
}
