package reconcile

import (
	"encoding/json"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func TestConfigHash(t *testing.T) {
	base := func() *spec.Stack {
		return &spec.Stack{Name: "s",
			Boxes: map[string]spec.Box{
				"web": {Name: "web", Image: "busybox", Env: []string{"A=1"}, Volumes: []spec.Mount{{Type: spec.MountVolume, Source: "data", Target: "/d"}},
					Networks: []spec.NetworkAttachment{{Name: "back"}}, DependsOn: []spec.Dependency{{Name: "db", Condition: spec.DependHealthy}}},
				"db": {Name: "db", Image: "busybox"},
			},
			Volumes:  map[string]spec.Volume{"data": {}, "unused": {}},
			Networks: map[string]spec.Network{"back": {}},
		}
	}
	h0 := ConfigHash(base(), "web")
	tests := []struct {
		name string
		edit func(s *spec.Stack)
		same bool
	}{
		{"nothing", func(s *spec.Stack) {}, true},
		{"environment", func(s *spec.Stack) { b := s.Boxes["web"]; b.Env = []string{"A=2"}; s.Boxes["web"] = b }, false},
		{"image", func(s *spec.Stack) { b := s.Boxes["web"]; b.Image = "busybox:1"; s.Boxes["web"] = b }, false},
		{"entrypoint cleared", func(s *spec.Stack) { b := s.Boxes["web"]; b.Entrypoint = []string{}; s.Boxes["web"] = b }, false},
		{"empty lists", func(s *spec.Stack) {
			b := s.Boxes["web"]
			b.Command, b.Ports, b.Labels = []string{}, []spec.Port{}, map[string]string{}
			s.Boxes["web"] = b
		}, true},
		{"depends_on", func(s *spec.Stack) { b := s.Boxes["web"]; b.DependsOn = nil; s.Boxes["web"] = b }, true},
		{"env_file list", func(s *spec.Stack) { b := s.Boxes["web"]; b.EnvFile = []string{"x.env"}; s.Boxes["web"] = b }, true},
		{"replicas", func(s *spec.Stack) { b := s.Boxes["web"]; n := 3; b.Replicas = &n; s.Boxes["web"] = b }, true},
		{"another box", func(s *spec.Stack) { b := s.Boxes["db"]; b.Image = "x"; s.Boxes["db"] = b }, true},
		{"its volume", func(s *spec.Stack) { s.Volumes["data"] = spec.Volume{External: true} }, false},
		{"a volume it does not use", func(s *spec.Stack) { s.Volumes["unused"] = spec.Volume{External: true} }, true},
		{"its network", func(s *spec.Stack) { s.Networks["back"] = spec.Network{Internal: true} }, false},
	}
	for _, tt := range tests {
		s := base()
		tt.edit(s)
		if same := ConfigHash(s, "web") == h0; same != tt.same {
			t.Errorf("%s: same hash = %v, want %v", tt.name, same, tt.same)
		}
	}

	// A stack read back from its JSON form hashes the same.
	s := base()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back spec.Stack
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if ConfigHash(&back, "web") != h0 {
		t.Error("the hash changed through JSON")
	}
}
