package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a box or a stack may ask for is bounded, and a request beyond a
// bound is refused with its reason before anything is made.
func TestBoundsAreRefused(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"cpus beyond the host", []string{"run", "--rm", "--cpus", "1000", e2e.image, "true"}, 125, "more than the"},
		{"memory below the floor", []string{"run", "--rm", "-m", "64m", e2e.image, "true"}, 125, "needs at least 112m"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			failsWith(t, a3sIn(t, root, tt.args...), tt.code, tt.want)
		})
	}

	replicas := filepath.Join(dir, "rep.yaml")
	writeStack(t, replicas, "name: rep\nboxes:\n  web:\n    image: IMAGE\n    replicas: 1001\n")
	failsWith(t, a3sIn(t, root, "apply", "-f", replicas), 1, "1001 is more than the 1000")

	// A 50 MB stack without aliases is refused for its size, by name.
	big := filepath.Join(dir, "big.yaml")
	body := "name: big\nboxes:\n  web:\n    image: " + e2e.image + "\n    labels:\n" + strings.Repeat("      k: v\n", 50<<20/11)
	if err := os.WriteFile(big, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := a3sIn(t, root, "apply", "-f", big)
	failsWith(t, r, 1, big+":1: the file is")
	if strings.Contains(r.stderr, "alias") {
		t.Errorf("a big stack is refused for aliases: %q", r.stderr)
	}
	if ps := strings.TrimSpace(a3sIn(t, root, "ps", "-aq").stdout); ps != "" {
		t.Errorf("refused requests made boxes: %q", ps)
	}
	if st := a3sIn(t, root, "stacks").stdout; strings.Contains(st, "rep") || strings.Contains(st, "big") {
		t.Errorf("a refused stack was stored: %q", st)
	}
}
