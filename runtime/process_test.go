package runtime

import (
	"errors"
	"reflect"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestMainProcess(t *testing.T) {
	img := &v1.Config{
		Entrypoint: []string{"/entry"},
		Cmd:        []string{"serve", "--port=80"},
		Env:        []string{"PATH=/bin", "A=image"},
		WorkingDir: "/app",
		User:       "app",
	}
	tests := []struct {
		name     string
		box      spec.Box
		img      *v1.Config
		wantArgs []string
		wantEnv  []string
		wantDir  string
		wantUser string
		wantErr  error
	}{
		{"image defaults", spec.Box{}, img, []string{"/entry", "serve", "--port=80"},
			[]string{"HOSTNAME=h", "PATH=/bin", "A=image"}, "/app", "app", nil},
		{"command replaces cmd", spec.Box{Command: []string{"sh"}}, img, []string{"/entry", "sh"}, nil, "/app", "app", nil},
		{"entrypoint drops cmd", spec.Box{Entrypoint: []string{"/bin/sh"}}, img, []string{"/bin/sh"}, nil, "/app", "app", nil},
		{"entrypoint and command", spec.Box{Entrypoint: []string{"/bin/sh"}, Command: []string{"-c", "true"}}, img, []string{"/bin/sh", "-c", "true"}, nil, "/app", "app", nil},
		{"empty entrypoint uses command", spec.Box{Entrypoint: []string{}, Command: []string{"ls"}}, img, []string{"ls"}, nil, "/app", "app", nil},
		{"env override", spec.Box{Env: []string{"A=box", "B=new"}}, img, nil,
			[]string{"HOSTNAME=h", "PATH=/bin", "A=box", "B=new"}, "/app", "app", nil},
		{"workdir and user", spec.Box{WorkingDir: "/w", User: "1:2"}, img, nil, nil, "/w", "1:2", nil},
		{"no command", spec.Box{}, &v1.Config{}, nil, nil, "", "", ErrNoCommand},
		{"no command with empty entrypoint", spec.Box{Entrypoint: []string{}}, img, nil, nil, "", "", ErrNoCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := MainProcess(&tt.box, tt.img, "h")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantArgs != nil && !reflect.DeepEqual(ex.Args, tt.wantArgs) {
				t.Errorf("args = %q, want %q", ex.Args, tt.wantArgs)
			}
			if tt.wantEnv != nil && !reflect.DeepEqual(ex.Env, tt.wantEnv) {
				t.Errorf("env = %q, want %q", ex.Env, tt.wantEnv)
			}
			if ex.Dir != tt.wantDir || ex.User != tt.wantUser || !ex.Main {
				t.Errorf("dir %q user %q main %v", ex.Dir, ex.User, ex.Main)
			}
		})
	}
	if _, err := MainProcess(&spec.Box{WorkingDir: "rel"}, img, "h"); err == nil {
		t.Error("relative working directory accepted")
	}
}
