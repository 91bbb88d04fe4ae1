package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

// `update` changes a box's record, which every start reads, and asks a
// running box's supervisor to apply what it can at once:
//   - memory through the VM's virtio-balloon: the balloon takes memory
//     from the guest down to the new size and gives it back up to the
//     size the VM booted with; more than that needs a new boot;
//   - the CPU cap through the VMM's cgroup (CFS quota); the number of
//     vCPUs changes at the next start, as microvm has no CPU hotplug;
//   - the restart policy, which the supervisor reads afresh at every
//     decision.

// Changes are what `update` changes of a box; nil members stay as they
// are.
type Changes struct {
	CPUs    *float64
	Memory  *int64
	Restart *spec.RestartPolicy
	// Label is set in the box's labels in the same write: the
	// reconciler's config hash, which covers what the change changes.
	Label *Label
}

// Label is one label of a box.
type Label struct{ Key, Value string }

// Apply makes the changes to box b's settings and names those it
// changed (a label is no setting).
func (c *Changes) Apply(b *spec.Box) []string {
	var changed []string
	if c.CPUs != nil {
		b.CPUs = *c.CPUs
		changed = append(changed, "cpus")
	}
	if c.Memory != nil {
		b.Memory = *c.Memory
		changed = append(changed, "memory")
	}
	if c.Restart != nil {
		b.Restart = *c.Restart
		changed = append(changed, "restart")
	}
	return changed
}

// MinMemory is the least memory a box boots with.
const MinMemory = spec.MinMemory

// Check refuses changes the host cannot give: more CPUs than it has,
// more memory than it has, or values that are no size at all.
func (c *Changes) Check() error {
	if c.CPUs != nil {
		n := spec.MaxCPUs()
		if v := *c.CPUs; !(v >= host.MinCPUs) || v > float64(n) {
			return fmt.Errorf("invalid --cpus %g: the range is %.2f to %d.00, as the host has %d CPUs", v, host.MinCPUs, n, n)
		}
	}
	if c.Memory != nil {
		if *c.Memory < MinMemory {
			return fmt.Errorf("invalid --memory %s: a box needs at least %s", memString(*c.Memory), memString(MinMemory))
		}
		if total, err := host.MemTotal(); err == nil && uint64(*c.Memory) > total {
			return fmt.Errorf("invalid --memory %s: the host has only %s", memString(*c.Memory), memString(int64(total)))
		}
	}
	return nil
}

// memString is a memory size as a user reads it: "512MiB", "2GiB",
// "23.5GiB".
func memString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%dB", n)
}

// ErrAutoRemove is a restart policy asked for a box removed on exit.
var ErrAutoRemove = errors.New("restart policy cannot be updated because AutoRemove is enabled for the box")

// Update applies c to box id: its record first (what every later start
// uses), then, if it runs, to the running VM as far as the VMM allows.
// notes say, one line each, what waits for the next start and why.
// Nothing changes when c is refused.
func (r *Runtime) Update(ctx context.Context, id string, c Changes) (notes []string, err error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c == (Changes{}) {
		return nil, nil
	}
	changed, err := r.updateRecord(ctx, id, c)
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	rep, err := r.request(ctx, id, &supRequest{Op: "update", Changed: changed})
	switch {
	case errors.Is(err, ErrNotRunning):
		return nil, nil // the next start reads the record
	case err != nil:
		b, _ := r.readBox(id)
		name := id[:12]
		if b != nil {
			name = b.Name
		}
		return []string{fmt.Sprintf("box %s: the change applies at the next start: %v", name, err)}, nil
	}
	return rep.Notes, nil
}

// updateRecord writes c into box id's record under the root lock and
// names what it changed.
func (r *Runtime) updateRecord(ctx context.Context, id string, c Changes) ([]string, error) {
	root, err := statefile.Acquire(ctx, r.rootLock())
	if err != nil {
		return nil, err
	}
	defer root.Release()
	b, err := r.readBox(id)
	if err != nil {
		return nil, err
	}
	rec := *b.BoxRecord
	if c.Restart != nil && rec.Spec.AutoRemove && !c.Restart.IsZero() {
		return nil, ErrAutoRemove
	}
	changed := c.Apply(&rec.Spec)
	if c.Label != nil {
		rec.Spec.Labels = maps.Clone(rec.Spec.Labels)
		if rec.Spec.Labels == nil {
			rec.Spec.Labels = map[string]string{}
		}
		rec.Spec.Labels[c.Label.Key] = c.Label.Value
	}
	if err := statefile.WriteJSON(filepath.Join(r.boxDir(id), "config.json"), &rec); err != nil {
		return nil, fmt.Errorf("update box %s: %w", b.Name, err)
	}
	return changed, nil
}

// current re-reads the box's record, which update may have changed since
// the supervisor started.
func (s *supervisor) current() *BoxRecord {
	var rec BoxRecord
	if statefile.ReadJSON(filepath.Join(s.r.boxDir(s.rec.ID), "config.json"), &rec) == nil && rec.ID == s.rec.ID {
		return &rec
	}
	return s.rec
}

// limitCPU puts the VMM process pid into the box's cgroup and caps its
// CPU time by the box's --cpus. A host without a cpu controller runs it
// uncapped, which the supervisor's log says.
func (s *supervisor) limitCPU(pid, vcpus int) *host.CPUCgroup {
	cg, err := host.BoxCgroup(s.rec.ID)
	if err == nil {
		err = cg.Add(pid)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "box %s: the VMM runs without a CPU cap: %v\n", s.rec.Name, err)
		return nil
	}
	if err := cg.SetQuota(host.CPUQuota(s.current().Spec.CPUs, vcpus)); err != nil {
		fmt.Fprintf(os.Stderr, "box %s: %v\n", s.rec.Name, err)
	}
	return cg
}

// update applies the changed parts of the box's record to the running
// VM, and says what has to wait for the next start.
func (s *supervisor) update(changed []string) []string {
	rec := s.current()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machine
	if s.vm == nil || m == nil {
		return nil // between runs: the next boot reads the record
	}
	var notes []string
	later := func(what, why string, args ...any) {
		notes = append(notes, fmt.Sprintf("box %s: %s applies at the next start: %s", rec.Name, what, fmt.Sprintf(why, args...)))
	}
	for _, c := range changed {
		switch c {
		case "cpus":
			cpus := rec.Spec.CPUs
			what := fmt.Sprintf("cpus %g", cpus)
			quota := host.CPUQuota(cpus, m.CPUs)
			switch {
			case s.cgroup != nil:
				if err := s.cgroup.SetQuota(quota); err != nil {
					notes = append(notes, fmt.Sprintf("box %s: %s: the VM's CPU time is not capped: %v", rec.Name, what, err))
				}
			case quota > 0:
				notes = append(notes, fmt.Sprintf("box %s: %s: the VM's CPU time is not capped: the VMM has no cpu cgroup (see the box's supervisor.log)", rec.Name, what))
			}
			if need := int(math.Ceil(cpus)); need > m.CPUs {
				later(what, "the VM has %d vCPU(s) and the microvm machine cannot add vCPUs while it runs", m.CPUs)
			}
		case "memory":
			want := rec.Spec.Memory
			boot := int64(m.MemMiB) << 20
			what := "memory " + memString(want)
			target := min(want, boot)
			if target != s.st.Memory {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := vmm.QMPExecute(ctx, s.r.qmpSocket(s.rec.ID), "balloon", map[string]int64{"value": target})
				cancel()
				if err != nil {
					later(what, "the VM's balloon did not take the new size: %v", err)
					continue
				}
				s.st.Memory = target
				_ = s.r.saveState(s.rec.ID, s.st)
			}
			if want > boot {
				later(what, "the VM booted with %s and cannot grow beyond that while it runs", memString(boot))
			}
		}
	}
	return notes
}
