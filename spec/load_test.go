package spec

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles lays out files (path -> content) under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadEnvFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"s.yaml": `boxes:
  web:
    image: busybox
    env_file:
      - base.env
      - path: optional.env
        required: false
      - over.env
    environment:
      B: from-stack
`,
		"base.env": "A=1\nB=2\n# comment\nC=3\n",
		"over.env": "C=33\nD=4\n",
	})
	stacks, _, err := Load(context.Background(), filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b := stacks[0].Boxes["web"]
	if want := []string{"A=1", "B=from-stack", "C=33", "D=4"}; !slices.Equal(b.Env, want) {
		t.Errorf("Env = %q, want %q", b.Env, want)
	}
	if want := []string{"base.env", "optional.env", "over.env"}; !slices.Equal(b.EnvFile, want) {
		t.Errorf("EnvFile = %q, want %q", b.EnvFile, want)
	}
}

func TestIsCompose(t *testing.T) {
	tests := []struct {
		name, data string
		want       bool
	}{
		{"compose.yaml", "", true},
		{"dir/docker-compose.yml", "", true},
		{"compose.override.yaml", "", true},
		{"docker-compose.prod.yml", "", true},
		{"stack.yaml", "boxes: {}", false},
		{"stack.yaml", "services: {}", false},
		{"stack.yaml", "version: '3'\nservices: {}", true},
		{"-", "include: [a.yaml]", true},
		{"mycompose.yaml", "name: x", false},
		{"broken.yaml", "a: [", false},
	}
	for _, tt := range tests {
		if got := IsCompose(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("IsCompose(%q, %q) = %v, want %v", tt.name, tt.data, got, tt.want)
		}
	}
}

// TestLoadCompose reads a compose project that uses what compose-go
// brings: .env, interpolation, env_file, extends, include and profiles.
func TestLoadCompose(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"shop/compose.yaml": `services:
  web:
    extends:
      file: common.yaml
      service: base
    image: ${IMAGE:-busybox}
    command: httpd -f -p ${PORT}
    ports:
      - "${PORT}:${PORT}"
      - target: 81
        published: "8081"
        mode: host
    env_file: web.env
    environment:
      - FROM_SHELL
    cap_add: [NET_ADMIN]
    volumes:
      - data:/data
      - ./site:/www:ro
    depends_on:
      db:
        condition: service_healthy
    networks: [back]
  debug:
    image: busybox
    profiles: [debug]
include:
  - db/compose.yaml
volumes:
  data:
    driver: local
networks:
  back:
    internal: true
`,
		"shop/common.yaml": "services:\n  base:\n    restart: always\n    labels: {team: shop}\n",
		"shop/.env":        "PORT=8080\nIMAGE=example/web:1\n",
		"shop/web.env":     "MODE=prod\n",
		"shop/db/compose.yaml": `services:
  db:
    image: busybox
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    networks: [back]
networks:
  back:
    internal: true
`,
	})
	t.Setenv("FROM_SHELL", "shell-value")
	t.Setenv("COMPOSE_PROFILES", "")
	file := filepath.Join(dir, "shop", "compose.yaml")
	stacks, warnings, err := Load(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	s := stacks[0]
	if s.Name != "shop" {
		t.Errorf("name = %q, want the directory's, shop", s.Name)
	}
	if got := s.BoxNames(); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("boxes = %v (debug is in an inactive profile)", got)
	}
	web := s.Boxes["web"]
	checks := []struct {
		what string
		ok   bool
	}{
		{"image from .env", web.Image == "example/web:1"},
		{"command interpolated", slices.Equal(web.Command, []string{"httpd", "-f", "-p", "8080"})},
		{"env_file and environment", slices.Equal(web.Env, []string{"FROM_SHELL=shell-value", "MODE=prod"})},
		{"extends", web.Restart.Name == RestartAlways && web.Labels["team"] == "shop"},
		{"ports", len(web.Ports) == 2 && web.Ports[0] == Port{HostPort: 8080, ContainerPort: 8080} && web.Ports[1].HostPort == 8081},
		{"bind resolved", len(web.Volumes) == 2 && web.Volumes[1].Source == filepath.Join(dir, "shop", "site") && web.Volumes[1].ReadOnly},
		{"depends_on", slices.Equal(web.DependsOn, []Dependency{{Name: "db", Condition: DependHealthy}})},
		{"include", s.Boxes["db"].Healthcheck != nil && s.Boxes["db"].Healthcheck.Interval.D().Seconds() == 1},
		{"networks", len(web.Networks) == 1 && web.Networks[0].Name == "back" && s.Networks["back"].Internal},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: web = %+v", c.what, web)
		}
	}
	var got []string
	for _, w := range warnings {
		got = append(got, strings.TrimPrefix(w.String(), file))
	}
	for _, want := range []string{
		":16: services.web.cap_add: not supported by a3s-box; ignored",
		":8: services.web.ports.[].mode: not supported by a3s-box; ignored",
		":31: volumes.data.driver: not supported by a3s-box; ignored",
		":24: services.debug: left out: none of its profiles (debug) is active",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no warning %q in\n%s", want, strings.Join(got, "\n"))
		}
	}

	t.Setenv("COMPOSE_PROFILES", "debug")
	t.Setenv("COMPOSE_PROJECT_NAME", "other")
	stacks, _, err = Load(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if s := stacks[0]; s.Name != "other" || s.Boxes["debug"].Image != "busybox" {
		t.Errorf("with COMPOSE_PROFILES and COMPOSE_PROJECT_NAME: name %q, boxes %v", s.Name, s.BoxNames())
	}
}

func TestLoadComposeErrors(t *testing.T) {
	tests := []struct {
		compose string
		want    string
	}{
		{"services:\n  web:\n    image: busybox\n    depends_on: [db]\n", `compose.yaml:2: service "web" depends on undefined service "db"`},
		{"services:\n  web:\n    image: busybox\n    imgae: x\n", `compose.yaml:4: services.web.imgae: unknown field "imgae" (did you mean "image"?)`},
		{"services:\n  web:\n    build: .\n", "compose.yaml:2: services.web: no image: a3s-box runs images and does not build them"},
		{"services:\n  web:\n    image: busybox\n    ports: [\"8000-8001:80\"]\n    volumes: [nodata:/d]\n", "compose.yaml:2: "},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"compose.yaml": tt.compose})
		_, _, err := Load(context.Background(), filepath.Join(dir, "compose.yaml"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.compose, err, tt.want)
		}
	}
}

func TestLoadDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml":                     "boxes: {web: {image: busybox}}\n",
		"sub/b.yml":                  "name: b\nboxes: {web: {image: busybox}}\n",
		"notes.txt":                  "not a stack",
		".hidden/c.yaml":             "not: [a stack",
		"proj/compose.yaml":          "services:\n  web:\n    extends: {file: base.yaml, service: base}\n",
		"proj/base.yaml":             "services:\n  base:\n    image: busybox\n",
		"proj/compose.override.yaml": "services:\n  web:\n    restart: always\n",
	})
	stacks, _, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stacks {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a", "b", "proj"}) {
		t.Fatalf("stacks = %v, want a, b and proj (base.yaml belongs to the compose project)", names)
	}
	for _, s := range stacks {
		if s.Name == "proj" && s.Boxes["web"].Restart.Name != RestartAlways {
			t.Errorf("the override file was not applied: %+v", s.Boxes["web"])
		}
	}

	if err := os.WriteFile(filepath.Join(dir, "sub", "again.yaml"), []byte("name: a\nboxes: {x: {image: busybox}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(context.Background(), dir); err == nil || !strings.Contains(err.Error(), `stack "a" is already defined in`) {
		t.Errorf("two stacks named a: err = %v", err)
	}
}
