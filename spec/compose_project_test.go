package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadComposeOptions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"proj/compose.yaml": `services:
  web:
    image: ${IMAGE}
    scale: 3
  db:
    image: busybox
    deploy:
      replicas: 2
  debug:
    image: busybox
    profiles: [debug]
`,
		"proj/compose.override.yaml": "services:\n  web:\n    environment: {FROM: override}\n",
		"proj/.env":                  "IMAGE=from-dotenv\n",
		"proj/other.env":             "IMAGE=from-other\n",
		"proj/extra.yaml":            "services:\n  extra:\n    image: busybox\n",
		"proj/sub/dir/.keep":         "",
		"named/compose.yml":          "name: chosen\nservices:\n  a:\n    image: busybox\n",
	})
	proj := filepath.Join(dir, "proj")
	for _, k := range []string{"COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	tests := []struct {
		name      string
		o         ComposeOptions
		cwd       string
		env       map[string]string
		project   string
		boxes     []string
		image     string
		fileCount int
	}{
		{"found in the working directory with its override", ComposeOptions{}, proj, nil, "proj", []string{"db", "web"}, "from-dotenv", 2},
		{"found in a parent directory", ComposeOptions{}, filepath.Join(proj, "sub", "dir"), nil, "proj", []string{"db", "web"}, "from-dotenv", 2},
		{"-p wins", ComposeOptions{Name: "given"}, proj, map[string]string{"COMPOSE_PROJECT_NAME": "env"}, "given", nil, "", 2},
		{"COMPOSE_PROJECT_NAME", ComposeOptions{}, proj, map[string]string{"COMPOSE_PROJECT_NAME": "env"}, "env", nil, "", 2},
		{"name: in the file", ComposeOptions{Files: []string{filepath.Join(dir, "named", "compose.yml")}}, dir, nil, "chosen", []string{"a"}, "", 1},
		{"-f files in order, no override", ComposeOptions{Files: []string{filepath.Join(proj, "compose.yaml"), filepath.Join(proj, "extra.yaml")}}, dir, nil, "proj", []string{"db", "extra", "web"}, "", 2},
		{"--profile", ComposeOptions{Profiles: []string{"debug"}}, proj, nil, "proj", []string{"db", "debug", "web"}, "", 2},
		{"COMPOSE_PROFILES", ComposeOptions{}, proj, map[string]string{"COMPOSE_PROFILES": "debug"}, "proj", []string{"db", "debug", "web"}, "", 2},
		{"--env-file", ComposeOptions{EnvFiles: []string{filepath.Join(proj, "other.env")}}, proj, nil, "proj", nil, "from-other", 2},
		{"--project-directory", ComposeOptions{WorkingDir: proj}, dir, nil, "proj", nil, "from-dotenv", 2},
		{"COMPOSE_FILE", ComposeOptions{}, dir, map[string]string{"COMPOSE_FILE": filepath.Join(dir, "named", "compose.yml")}, "chosen", nil, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			t.Chdir(tt.cwd)
			p, err := LoadCompose(context.Background(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Stack.Name != tt.project || p.Model.Name != tt.project {
				t.Errorf("project %q (model %q), want %q", p.Stack.Name, p.Model.Name, tt.project)
			}
			if tt.boxes != nil && !slices.Equal(p.Stack.BoxNames(), tt.boxes) {
				t.Errorf("boxes %v, want %v", p.Stack.BoxNames(), tt.boxes)
			}
			if tt.image != "" && p.Stack.Boxes["web"].Image != tt.image {
				t.Errorf("web's image %q, want %q", p.Stack.Boxes["web"].Image, tt.image)
			}
			if len(p.Files) != tt.fileCount {
				t.Errorf("files %v, want %d", p.Files, tt.fileCount)
			}
		})
	}

	t.Run("replicas", func(t *testing.T) {
		t.Chdir(proj)
		p, err := LoadCompose(context.Background(), ComposeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		web, db := p.Stack.Boxes["web"], p.Stack.Boxes["db"]
		if web.Scale() != 3 || db.Scale() != 2 || !slices.Equal(web.Env, []string{"FROM=override"}) {
			t.Errorf("web scale %d env %v, db scale %d", web.Scale(), web.Env, db.Scale())
		}
	})
	t.Run("no file", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if _, err := LoadCompose(context.Background(), ComposeOptions{}); !errors.Is(err, ErrNoComposeFile) {
			t.Errorf("err = %v, want ErrNoComposeFile", err)
		}
	})
}

func TestLoadComposeOptionsErrors(t *testing.T) {
	tests := []struct{ compose, want string }{
		{"services:\n  web:\n    image: busybox\n    scale: -1\n", "must be greater than or equal to 0"},
		{"services:\n  web:\n    image: busybox\n    scale: 2\n    deploy: {replicas: 3}\n", "compose.yaml:2: services.web: can't set distinct values on 'scale' and 'deploy.replicas'"},
		{"services:\n  web:\n    image: busybox\n    imgae: x\n", `compose.yaml:4: services.web.imgae: unknown field "imgae" (did you mean "image"?)`},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"compose.yaml": tt.compose})
		_, err := LoadCompose(context.Background(), ComposeOptions{Files: []string{filepath.Join(dir, "compose.yaml")}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.compose, err, tt.want)
		}
	}
}

func TestParseReplicas(t *testing.T) {
	stacks, err := Parse("s.yaml", []byte("boxes:\n  web:\n    image: busybox\n    replicas: 3\n  zero:\n    image: busybox\n    replicas: 0\n  one:\n    image: busybox\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := stacks[0].Boxes
	if b["web"].Scale() != 3 || b["zero"].Scale() != 0 || b["one"].Scale() != 1 || b["one"].Replicas != nil {
		t.Errorf("scales: web %d, zero %d, one %d", b["web"].Scale(), b["zero"].Scale(), b["one"].Scale())
	}
}
