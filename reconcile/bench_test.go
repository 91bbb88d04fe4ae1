package reconcile

import (
	"fmt"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

// bigStack is a stack of n boxes shaped like real ones: environment,
// ports, volumes, a health check, and dependencies ten deep.
func bigStack(n int) *spec.Stack {
	s := &spec.Stack{Name: "big", Boxes: map[string]spec.Box{}, Volumes: map[string]spec.Volume{"data": {}}}
	for i := range n {
		b := spec.Box{
			Name: fmt.Sprintf("box%03d", i), Image: "registry.example:5000/team/app:1.2.3",
			Command: []string{"serve", "--port", "8080"},
			Env:     []string{"MODE=production", fmt.Sprintf("INDEX=%d", i), "LOG=info"},
			Ports:   []spec.Port{{HostPort: uint16(10000 + i), ContainerPort: 8080}},
			Volumes: []spec.Mount{{Type: spec.MountVolume, Source: "data", Target: "/data"}},
			Labels:  map[string]string{"team": "shop", "tier": "web"},
			Healthcheck: &spec.Healthcheck{Test: []string{"CMD", "wget", "-q", "http://127.0.0.1:8080/"},
				Interval: spec.Duration(5e9)},
			Restart: spec.RestartPolicy{Name: spec.RestartUnlessStopped},
			Memory:  256 << 20,
		}
		if i%10 != 0 {
			b.DependsOn = []spec.Dependency{{Name: fmt.Sprintf("box%03d", i-1), Condition: spec.DependHealthy}}
		}
		s.Boxes[b.Name] = b
	}
	return s
}

// BenchmarkPlanNoop200 is a no-op reconcile of 200 desired boxes: hashing
// every box's config and planning against observed boxes that all match.
// The aim is well under 50ms.
func BenchmarkPlanNoop200(b *testing.B) {
	s := bigStack(200)
	var observed []ObservedBox
	for _, d := range DesiredFromStack(s) {
		observed = append(observed, ObservedBox{Stack: d.Stack, Name: d.Name, Hash: d.Hash,
			State: spec.StatusRunning, Restart: d.Spec.Restart})
	}
	b.ResetTimer()
	for b.Loop() {
		if actions := Plan(DesiredFromStack(s), observed); len(actions) != 0 {
			b.Fatalf("a no-op plan has %d actions", len(actions))
		}
	}
}
