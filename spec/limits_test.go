package spec

import (
	"context"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

func TestBounds(t *testing.T) {
	host := float64(MaxCPUs())
	tests := []struct {
		name string
		err  error
		want string // "" for accepted
	}{
		{"replicas 0", CheckReplicas(0), ""},
		{"replicas 1000", CheckReplicas(MaxReplicas), ""},
		{"replicas 1001", CheckReplicas(MaxReplicas + 1), "1001 is more than the 1000"},
		{"replicas 1e8", CheckReplicas(100000000), "more than the 1000"},
		{"replicas -1", CheckReplicas(-1), "must not be negative"},
		{"cpus default", CheckCPUs(0), ""},
		{"cpus host", CheckCPUs(host), ""},
		{"cpus over host", CheckCPUs(host + 0.5), "more than the"},
		{"cpus 1e10", CheckCPUs(1e10), "more than the"},
		{"cpus NaN", CheckCPUs(math.NaN()), "must be positive"},
		{"cpus +Inf", CheckCPUs(math.Inf(1)), "more than the"},
		{"cpus -1", CheckCPUs(-1), "must be positive"},
		{"memory default", CheckMemory(0), ""},
		{"memory 64m", CheckMemory(64 << 20), "64m is too little: the guest kernel needs at least 112m"},
		{"memory 104m", CheckMemory(104 << 20), "at least 112m"},
		{"memory 112m-1", CheckMemory(112<<20 - 1), "117440511 bytes is too little"},
		{"memory 112m", CheckMemory(112 << 20), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.want == "" && tt.err != nil:
				t.Fatalf("refused: %v", tt.err)
			case tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want)):
				t.Fatalf("got %v, want an error with %q", tt.err, tt.want)
			}
		})
	}
	if MaxCPUs() > MaxVCPUs || MaxCPUs() > goruntime.NumCPU() {
		t.Fatalf("MaxCPUs %d is over the host's %d or QEMU's %d", MaxCPUs(), goruntime.NumCPU(), MaxVCPUs)
	}
}

func TestStackBoundsInFiles(t *testing.T) {
	big := "boxes:\n  web:\n    image: busybox\n    command: [\"" + strings.Repeat("x", 50<<20) + "\"]\n"
	tests := []struct {
		name, file, want string
	}{
		{"replicas over the bound", "boxes:\n  web:\n    image: busybox\n    replicas: 100000000\n", "s.yaml:4: boxes.web.replicas: 100000000 is more than the 1000"},
		{"cpus over the host", "boxes:\n  web:\n    image: busybox\n    cpus: 100000\n", "s.yaml:4: boxes.web.cpus: 100000 is more than the"},
		{"memory under the floor", "boxes:\n  web:\n    image: busybox\n    mem_limit: 96m\n", "s.yaml:4: boxes.web.mem_limit: 96m is too little"},
		// A 50 MB stack without aliases: refused for its size, not for
		// the nodes aliases would expand to.
		{"50 MB without aliases", big, "s.yaml:1: the file is 50.0 MiB, more than the 4 MiB a stack file may be"},
		{"50 MB compose file", "services:\n  web:\n    image: busybox\n    command: [\"" + strings.Repeat("x", 50<<20) + "\"]\n", "the file is 50.0 MiB, more than the 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "s.yaml"
			if strings.HasPrefix(tt.file, "services:") {
				name = "compose.yaml"
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			_, _, err := Load(context.Background(), name)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "aliases") {
				t.Fatalf("refused for aliases: %v", err)
			}
		})
	}
}
