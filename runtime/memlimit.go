package runtime

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/vmm"
)

// Memory bounds of a box's host processes (docs/architecture.md, "Threat
// model"). The supervisor holds at most about 40 MiB of what a guest
// sends (runtime/guestdns.go) over an idle 20 MiB; its limit leaves room
// for the port proxies, logs and clients it serves besides.
const (
	// supervisorMemoryMax is the hard limit of a supervisor's cgroup.
	supervisorMemoryMax = 256 << 20
	// supervisorGoMemory is the Go runtime's soft limit in the
	// supervisor: the collector works harder as it nears it, well before
	// the cgroup's limit would kill the process.
	supervisorGoMemory = 192 << 20
	// vmmMemoryOverhead is what a VMM may use beyond its guest's memory:
	// QEMU's own heap, device buffers, the 9p server. An idle QEMU of a
	// 256 MiB box under TCG has about 295 MiB resident, 390 MiB after a
	// minute of find, gzip, tar and 100 MB written to a tmpfs.
	vmmMemoryOverhead = 256 << 20
	// vmmTCGCodeCache is added under TCG: QEMU's translated code cache
	// grows up to 1 GiB (its default tb-size) as a guest runs new code.
	vmmTCGCodeCache = 1 << 30
)

// vmmMemoryMax is the hard memory limit of a VMM booted as m.
func vmmMemoryMax(m *vmm.Machine) int64 {
	limit := int64(m.MemMiB)<<20 + vmmMemoryOverhead
	if m.Accel == vmm.AccelTCG {
		limit += vmmTCGCodeCache
	}
	return limit
}

// limitSupervisor moves this process, box id's supervisor, into a memory
// cgroup of its own and returns how to leave it before the process
// exits. A host without a memory controller runs it without a limit,
// which the supervisor's log says.
func limitSupervisor(id, name string) (leave func()) {
	debug.SetMemoryLimit(supervisorGoMemory)
	cg, err := host.SupervisorMemoryCgroup(id)
	if err == nil {
		if err = cg.SetLimit(supervisorMemoryMax); err == nil {
			var leave func()
			if leave, err = host.JoinMemoryCgroup(cg); err == nil {
				return leave
			}
		}
		cg.Remove()
	}
	fmt.Fprintf(os.Stderr, "box %s: the supervisor runs without a memory limit: %v\n", name, err)
	return func() {}
}

// limitVMMMemory puts the VMM process pid, booted as m, into its memory
// cgroup under vmmMemoryMax. A host without a memory controller runs it
// without, which the supervisor's log says.
func (s *supervisor) limitVMMMemory(pid int, m *vmm.Machine) *host.MemoryCgroup {
	cg, err := host.VMMMemoryCgroup(s.rec.ID)
	if err == nil {
		if err = cg.SetLimit(vmmMemoryMax(m)); err == nil {
			if err = cg.Add(pid); err == nil {
				return cg
			}
		}
		cg.Remove()
	}
	fmt.Fprintf(os.Stderr, "box %s: the VMM runs without a memory limit: %v\n", s.rec.Name, err)
	return nil
}
