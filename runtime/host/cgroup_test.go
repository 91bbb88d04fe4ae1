package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCPUQuota(t *testing.T) {
	tests := []struct {
		cpus  float64
		vcpus int
		want  int64
	}{
		{0, 1, -1},      // no --cpus
		{1, 1, -1},      // the VM cannot use more anyway
		{2, 1, -1},      // more than the VM has until its next start
		{0.5, 1, 50000}, // a fraction caps
		{1.5, 2, 150000},
		{1, 2, 100000}, // an update below the vCPUs the VM booted with
		{0.001, 1, 1000},
	}
	for _, tt := range tests {
		if got := CPUQuota(tt.cpus, tt.vcpus); got != tt.want {
			t.Errorf("CPUQuota(%g, %d) = %d, want %d", tt.cpus, tt.vcpus, got, tt.want)
		}
	}
}

// TestCgroupFiles runs the cgroup code against fake v1 and v2 trees.
func TestCgroupFiles(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, v2 := range []bool{false, true} {
		fsRoot := t.TempDir()
		old := cgroupFS
		cgroupFS = fsRoot
		t.Cleanup(func() { cgroupFS = old })
		write := func(p, s string) {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		read := func(p string) string {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if v2 {
			write(filepath.Join(fsRoot, "cgroup.controllers"), "cpuset cpu io memory pids\n")
			write(filepath.Join(fsRoot, "cgroup.subtree_control"), "memory\n")
		} else {
			write(filepath.Join(fsRoot, "cpu", "cpu.cfs_quota_us"), "-1\n")
		}
		cg, err := BoxCgroup(id)
		if err != nil {
			t.Fatalf("v2=%v: %v", v2, err)
		}
		if err := cg.Add(4242); err != nil {
			t.Fatal(err)
		}
		if got := read(filepath.Join(cg.dir, "cgroup.procs")); got != "4242" {
			t.Fatalf("cgroup.procs %q", got)
		}
		if err := cg.SetQuota(50000); err != nil {
			t.Fatal(err)
		}
		if v2 {
			if cg.dir != filepath.Join(fsRoot, "a3s-box", id[:12]) {
				t.Fatalf("dir %s", cg.dir)
			}
			for _, d := range []string{fsRoot, filepath.Join(fsRoot, "a3s-box")} {
				if got := read(filepath.Join(d, "cgroup.subtree_control")); got != "+cpu" {
					t.Fatalf("%s subtree_control %q, want +cpu", d, got)
				}
			}
			if got := read(filepath.Join(cg.dir, "cpu.max")); got != "50000 100000" {
				t.Fatalf("cpu.max %q", got)
			}
			if err := cg.SetQuota(-1); err != nil || read(filepath.Join(cg.dir, "cpu.max")) != "max 100000" {
				t.Fatalf("no quota: cpu.max %q, %v", read(filepath.Join(cg.dir, "cpu.max")), err)
			}
		} else {
			if cg.dir != filepath.Join(fsRoot, "cpu", "a3s-box", id[:12]) {
				t.Fatalf("dir %s", cg.dir)
			}
			if q, p := read(filepath.Join(cg.dir, "cpu.cfs_quota_us")), read(filepath.Join(cg.dir, "cpu.cfs_period_us")); q != "50000" || p != "100000" {
				t.Fatalf("quota %q period %q", q, p)
			}
		}
	}
	cgroupFS = t.TempDir()
	if _, err := BoxCgroup(id); err == nil {
		t.Fatal("a host without a cpu controller gave a cgroup")
	}
}
