package host

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMemoryCgroupFiles runs the memory cgroup code against fake v1 and
// v2 trees: where each cgroup is made, the limit file written, the
// process moved in and, for the supervisor, moved back out.
func TestMemoryCgroupFiles(t *testing.T) {
	id := strings.Repeat("cd", 32)
	tests := []struct {
		name      string
		v2        bool
		tree      map[string]string // files of the fake cgroup tree
		self      string            // the fake /proc/self/cgroup
		root      string            // the memory controller's root, under the tree
		from      string            // the cgroup the process starts in, under the root
		limitFile string
	}{
		{
			name:      "v1",
			tree:      map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n", "cpu/cpu.cfs_quota_us": "-1\n"},
			self:      "12:pids:/x\n4:memory:/jobs/j1\n1:cpu,cpuacct:/\n0::/\n",
			root:      "memory",
			from:      "jobs/j1",
			limitFile: "memory.limit_in_bytes",
		},
		{
			name:      "v2",
			v2:        true,
			tree:      map[string]string{"cgroup.controllers": "cpuset cpu io memory pids\n", "cgroup.subtree_control": "cpu\n"},
			self:      "0::/user.slice/session-1.scope\n",
			from:      "user.slice/session-1.scope",
			limitFile: "memory.max",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsRoot := t.TempDir()
			oldFS, oldSelf := cgroupFS, procSelfCgroup
			cgroupFS, procSelfCgroup = fsRoot, filepath.Join(t.TempDir(), "cgroup")
			t.Cleanup(func() { cgroupFS, procSelfCgroup = oldFS, oldSelf })
			write := func(p, s string) {
				t.Helper()
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			read := func(p string) string {
				t.Helper()
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			for f, s := range tt.tree {
				write(filepath.Join(fsRoot, f), s)
			}
			write(procSelfCgroup, tt.self)
			root := filepath.Join(fsRoot, tt.root)

			vmm, err := VMMMemoryCgroup(id)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, "a3s-box", id[:12]); vmm.dir != want || vmm.v2 != tt.v2 {
				t.Fatalf("VMM cgroup %s (v2 %v), want %s", vmm.dir, vmm.v2, want)
			}
			if err := vmm.SetLimit(512 << 20); err != nil {
				t.Fatal(err)
			}
			if got := read(filepath.Join(vmm.dir, tt.limitFile)); got != "536870912" {
				t.Fatalf("%s = %q", tt.limitFile, got)
			}
			if err := vmm.Add(4242); err != nil {
				t.Fatal(err)
			}
			if got := read(filepath.Join(vmm.dir, "cgroup.procs")); got != "4242" {
				t.Fatalf("cgroup.procs = %q", got)
			}
			if !tt.v2 && read(filepath.Join(vmm.dir, "memory.move_charge_at_immigrate")) != "3" {
				t.Fatal("v1: the VMM's pages do not move with it")
			}
			if tt.v2 {
				for _, d := range []string{fsRoot, filepath.Join(fsRoot, "a3s-box")} {
					if got := read(filepath.Join(d, "cgroup.subtree_control")); !strings.Contains(got, "memory") {
						t.Fatalf("%s hands down %q, not memory", d, got)
					}
				}
			}

			sup, err := SupervisorMemoryCgroup(id)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, "a3s-box", id[:12]+"-supervisor"); sup.dir != want {
				t.Fatalf("supervisor cgroup %s, want %s", sup.dir, want)
			}
			leave, err := JoinMemoryCgroup(sup)
			if err != nil {
				t.Fatal(err)
			}
			self := strconv.Itoa(os.Getpid())
			if got := read(filepath.Join(sup.dir, "cgroup.procs")); got != self {
				t.Fatalf("supervisor cgroup.procs = %q, want %s", got, self)
			}
			if err := os.MkdirAll(filepath.Join(root, tt.from), 0o755); err != nil {
				t.Fatal(err)
			}
			leave()
			if got := read(filepath.Join(root, tt.from, "cgroup.procs")); got != self {
				t.Fatalf("after leaving, %s/cgroup.procs = %q, want %s", tt.from, got, self)
			}
		})
	}
	cgroupFS = t.TempDir()
	if _, err := VMMMemoryCgroup(id); err == nil {
		t.Fatal("a host without a memory controller gave a cgroup")
	}
}
