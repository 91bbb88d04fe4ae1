package host

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A box's VMM process runs in a cgroup of its own, a3s-box/<id12> under
// the host's cpu controller, so that `--cpus` can cap its CPU time with a
// CFS quota and `update --cpus` can change that cap while the box runs.
// Both cgroup v2 (cpu.max, the default on current distributions) and the
// v1 cpu controller (cpu.cfs_quota_us) are supported; a host with
// neither runs boxes without a cap. The memory controller bounds the VMM
// and the box's supervisor (memcgroup.go).

// cfsPeriod is the CFS period quotas are given against, in microseconds:
// Docker's.
const cfsPeriod = 100000

// MinCPUs is the smallest --cpus: a quota under 1 ms per period is not
// allowed by the kernel.
const MinCPUs = 0.01

// cgroupFS is where the host's cgroup file systems are mounted; tests
// point it elsewhere.
var cgroupFS = "/sys/fs/cgroup"

// CPUCgroup is one box's cgroup under the cpu controller.
type CPUCgroup struct {
	dir string
	v2  bool
}

// cpuControllerRoot finds the cpu controller: the unified hierarchy when
// it has the controller, else the v1 cpu hierarchy.
func cpuControllerRoot() (dir string, v2 bool, err error) {
	return controllerRoot("cpu", "cpu.max", "cpu.cfs_quota_us")
}

// controllerRoot finds a controller's hierarchy: the unified one when it
// has the controller (whose files include v2File), else the v1
// hierarchy named after it, which has v1File.
func controllerRoot(controller, v2File, v1File string) (dir string, v2 bool, err error) {
	if b, err := os.ReadFile(filepath.Join(cgroupFS, "cgroup.controllers")); err == nil {
		if hasWord(string(b), controller) {
			return cgroupFS, true, nil
		}
	}
	v1 := filepath.Join(cgroupFS, controller)
	if _, err := os.Stat(filepath.Join(v1, v1File)); err == nil {
		return v1, false, nil
	}
	return "", false, fmt.Errorf("the host has no %s cgroup controller (neither cgroup v2's %s nor v1's %s)", controller, v2File, v1File)
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// BoxCgroup makes (or opens) box id's cgroup.
func BoxCgroup(id string) (*CPUCgroup, error) {
	root, v2, err := cpuControllerRoot()
	if err != nil {
		return nil, err
	}
	dir, err := makeCgroup(root, v2, "cpu", id[:12])
	if err != nil {
		return nil, err
	}
	return &CPUCgroup{dir: dir, v2: v2}, nil
}

// makeCgroup makes (or opens) a3s-box/name under a controller's root.
func makeCgroup(root string, v2 bool, controller, name string) (string, error) {
	parent := filepath.Join(root, "a3s-box")
	if v2 {
		// A v2 child sees a controller only when every ancestor hands
		// it down.
		for _, d := range []string{root, parent} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", fmt.Errorf("cgroup: %w", err)
			}
			if err := enableController(d, controller); err != nil {
				return "", err
			}
		}
	}
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	return dir, nil
}

// enableController hands a v2 controller down to dir's children.
func enableController(dir, c string) error {
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	if b, err := os.ReadFile(ctl); err == nil && hasWord(string(b), c) {
		return nil
	}
	if err := os.WriteFile(ctl, []byte("+"+c), 0o644); err != nil {
		return fmt.Errorf("cgroup: enable the %s controller in %s: %w", c, dir, err)
	}
	return nil
}

// Add moves process pid, every thread of it, into the cgroup; threads
// it starts later are born there.
func (c *CPUCgroup) Add(pid int) error {
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("cgroup: move the VMM into %s: %w", c.dir, err)
	}
	return nil
}

// CPUQuota is the CFS quota, in microseconds per cfsPeriod, for a box
// given cpus CPUs whose VM has vcpus virtual CPUs; -1 is none. A VM
// cannot use more than its vCPUs, so a cap only matters below that: a
// fractional --cpus, or an update below the vCPUs the VM booted with.
func CPUQuota(cpus float64, vcpus int) int64 {
	if cpus <= 0 || cpus >= float64(vcpus) {
		return -1
	}
	return max(int64(math.Round(cpus*cfsPeriod)), 1000)
}

// SetQuota applies a CFS quota (-1: none).
func (c *CPUCgroup) SetQuota(quota int64) error {
	var err error
	if c.v2 {
		v := "max " + strconv.Itoa(cfsPeriod)
		if quota > 0 {
			v = fmt.Sprintf("%d %d", quota, cfsPeriod)
		}
		err = os.WriteFile(filepath.Join(c.dir, "cpu.max"), []byte(v), 0o644)
	} else {
		err = os.WriteFile(filepath.Join(c.dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(cfsPeriod)), 0o644)
		if err == nil {
			err = os.WriteFile(filepath.Join(c.dir, "cpu.cfs_quota_us"), []byte(strconv.FormatInt(quota, 10)), 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("cgroup: set the CPU quota of %s: %w", c.dir, err)
	}
	return nil
}

// Remove deletes the cgroup once its VMM has exited.
func (c *CPUCgroup) Remove() {
	if c != nil {
		_ = os.Remove(c.dir)
	}
}

// RemoveBoxCgroup deletes what a supervisor that died left of box id's
// cgroups: its VMM's, under the cpu and memory controllers, and its own.
func RemoveBoxCgroup(id string) {
	var dirs []string
	if root, _, err := cpuControllerRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, "a3s-box", id[:12]))
	}
	if root, _, err := memoryControllerRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, "a3s-box", id[:12]), filepath.Join(root, "a3s-box", supervisorCgroup(id)))
	}
	// A process just killed (the VMM) or killed by the kernel (a
	// supervisor over its memory limit) stays in its cgroup until it has
	// exited, which for one holding much memory takes a moment.
	deadline := time.Now().Add(removeWait)
	for _, d := range dirs {
		for os.Remove(d) != nil && !isGone(d) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// removeWait bounds how long RemoveBoxCgroup waits for the processes of
// a box's cgroups to exit.
const removeWait = 3 * time.Second

func isGone(dir string) bool {
	_, err := os.Stat(dir)
	return errors.Is(err, os.ErrNotExist)
}
