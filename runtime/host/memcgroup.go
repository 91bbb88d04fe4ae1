package host

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A box's VMM and its supervisor each run in a cgroup of the memory
// controller with a hard limit: the supervisor parses what a hostile
// guest sends and the VMM emulates it, so either one that a guest made
// grow without bound would take the host's memory with it. The VMM's
// cgroup is a3s-box/<id12>, the one of its CPU cap (on cgroup v2 the
// same directory), the supervisor's a3s-box/<id12>-supervisor. cgroup
// v2's memory.max and v1's memory.limit_in_bytes are supported; a host
// with neither runs without, as it runs without a CPU cap.

// MemoryCgroup is one cgroup under the memory controller.
type MemoryCgroup struct {
	dir string
	v2  bool
}

// procSelfCgroup is where a process reads its cgroups; tests point it
// elsewhere.
var procSelfCgroup = "/proc/self/cgroup"

// memoryControllerRoot finds the memory controller: the unified
// hierarchy when it has the controller, else the v1 memory hierarchy.
func memoryControllerRoot() (dir string, v2 bool, err error) {
	return controllerRoot("memory", "memory.max", "memory.limit_in_bytes")
}

func supervisorCgroup(id string) string { return id[:12] + "-supervisor" }

// VMMMemoryCgroup makes (or opens) the memory cgroup of box id's VMM.
func VMMMemoryCgroup(id string) (*MemoryCgroup, error) { return memoryCgroup(id[:12]) }

// SupervisorMemoryCgroup makes (or opens) the memory cgroup of box id's
// supervisor.
func SupervisorMemoryCgroup(id string) (*MemoryCgroup, error) {
	return memoryCgroup(supervisorCgroup(id))
}

func memoryCgroup(name string) (*MemoryCgroup, error) {
	root, v2, err := memoryControllerRoot()
	if err != nil {
		return nil, err
	}
	dir, err := makeCgroup(root, v2, "memory", name)
	if err != nil {
		return nil, err
	}
	return &MemoryCgroup{dir: dir, v2: v2}, nil
}

// SetLimit sets the cgroup's hard memory limit. Set it before a process
// joins: v1 refuses a limit under what the cgroup already uses.
func (c *MemoryCgroup) SetLimit(bytes int64) error {
	file := "memory.limit_in_bytes"
	if c.v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(c.dir, file), []byte(strconv.FormatInt(bytes, 10)), 0o644); err != nil {
		return fmt.Errorf("cgroup: set the memory limit of %s: %w", c.dir, err)
	}
	return nil
}

// Add moves process pid into the cgroup. On v1 what it already uses
// moves with it (memory.move_charge_at_immigrate), so a VMM's first
// pages, touched while it was still in its supervisor's cgroup, count
// against its own limit; v2 has no such move, and those few pages stay
// with the supervisor.
func (c *MemoryCgroup) Add(pid int) error {
	if !c.v2 {
		_ = os.WriteFile(filepath.Join(c.dir, "memory.move_charge_at_immigrate"), []byte("3"), 0o644)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("cgroup: move process %d into %s: %w", pid, c.dir, err)
	}
	return nil
}

// Remove deletes the cgroup once its processes have left or exited.
func (c *MemoryCgroup) Remove() {
	if c != nil {
		_ = os.Remove(c.dir)
	}
}

// JoinMemoryCgroup moves this process into c and returns how to leave
// it: back into the memory cgroup it was in, after which c is removed.
// A process cannot remove the cgroup it is in, so the supervisor leaves
// its own before it exits.
func JoinMemoryCgroup(c *MemoryCgroup) (leave func(), err error) {
	from, err := currentMemoryCgroup(c)
	if err != nil {
		return nil, err
	}
	if err := c.Add(os.Getpid()); err != nil {
		return nil, err
	}
	return func() {
		_ = os.WriteFile(filepath.Join(from, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
		c.Remove()
	}, nil
}

// currentMemoryCgroup is the directory of this process's cgroup in c's
// hierarchy, from /proc/self/cgroup: "0::/path" on v2, and on v1 the
// line whose controllers include memory.
func currentMemoryCgroup(c *MemoryCgroup) (string, error) {
	f, err := os.Open(procSelfCgroup)
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	root, _, err := memoryControllerRoot()
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			continue
		}
		ctl := strings.Split(parts[1], ",")
		if (c.v2 && parts[0] == "0" && parts[1] == "") || (!c.v2 && slices.Contains(ctl, "memory")) {
			return filepath.Join(root, filepath.Clean(parts[2])), nil
		}
	}
	return "", fmt.Errorf("cgroup: %s names no memory cgroup", procSelfCgroup)
}
