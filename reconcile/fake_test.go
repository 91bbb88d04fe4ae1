package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// fakeRuntime is a Runtime held in memory, for tests of the executor
// without VMs. A box is running the moment it is started and exited the
// moment it is stopped; what happens to it afterwards (it turns healthy,
// it exits) is scripted per box name.
type fakeRuntime struct {
	mu       sync.Mutex
	boxes    map[string]*Box // by ID
	specs    map[string]spec.Box
	networks map[string]*Network // by name
	volumes  map[string]*Volume  // by name
	nextID   int
	// log has one line per change, in the order they were made:
	// "create NAME", "start NAME", "stop NAME", "remove NAME",
	// "network create NAME", ..., and the scripted events, "NAME: EVENT".
	log []string
	// repairs counts repair passes, which change nothing here.
	repairs int
	// stopTimeouts are the grace periods boxes were stopped with.
	stopTimeouts map[string]int

	// failCreate and failStart make the create or start of a box fail.
	failCreate map[string]error
	failStart  map[string]error
	// beforeStart, when set, runs as a box starts, outside the lock, and
	// may hold the start up or fail it.
	beforeStart func(ctx context.Context, name string) error
	// script says what becomes of a box once it started.
	script map[string][]step
}

// step is a change to a started box: at once (after 0), or after a while.
type step struct {
	after time.Duration
	event string
	apply func(*Box)
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		boxes: map[string]*Box{}, specs: map[string]spec.Box{}, networks: map[string]*Network{}, volumes: map[string]*Volume{},
		stopTimeouts: map[string]int{}, failCreate: map[string]error{}, failStart: map[string]error{}, script: map[string][]step{},
	}
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

// changes returns the log so far.
func (f *fakeRuntime) changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// index is the position of line in the log, -1 when absent.
func (f *fakeRuntime) index(line string) int {
	return slices.Index(f.changes(), line)
}

// byName returns a copy of box name, nil when there is none.
func (f *fakeRuntime) byName(name string) *Box {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.find(name); b != nil {
		c := *b
		return &c
	}
	return nil
}

func (f *fakeRuntime) find(ref string) *Box {
	if b, ok := f.boxes[ref]; ok {
		return b
	}
	for _, b := range f.boxes {
		if b.Name == ref {
			return b
		}
	}
	return nil
}

// missing is the fake's ErrNotFound, worded as the runtime's errors are,
// since those reach users through reconcile's.
type missing string

func (m missing) Error() string        { return string(m) }
func (m missing) Is(target error) bool { return target == ErrNotFound }

func (f *fakeRuntime) noBox(ref string) error { return missing("no such box: " + ref) }

func (f *fakeRuntime) Boxes() ([]*Box, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*Box, 0, len(f.boxes))
	for _, id := range slices.Sorted(maps.Keys(f.boxes)) {
		c := *f.boxes[id]
		out = append(out, &c)
	}
	return out, nil
}

func (f *fakeRuntime) Lookup(ref string) (*Box, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(ref)
	if b == nil {
		return nil, f.noBox(ref)
	}
	c := *b
	return &c, nil
}

func (f *fakeRuntime) Create(ctx context.Context, b *spec.Box) (*Box, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("create %s", b.Name)
	if err := f.failCreate[b.Name]; err != nil {
		return nil, err
	}
	if f.find(b.Name) != nil {
		return nil, fmt.Errorf("name %s already in use", b.Name)
	}
	f.nextID++
	box := &Box{
		ID: fmt.Sprintf("id%04d", f.nextID), Name: b.Name, Labels: maps.Clone(b.Labels), Restart: b.Restart,
		Status: spec.StatusCreated, HasHealthCheck: b.Healthcheck != nil,
	}
	f.boxes[box.ID], f.specs[box.ID] = box, *b
	c := *box
	return &c, nil
}

func (f *fakeRuntime) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	b := f.find(id)
	if b == nil {
		f.mu.Unlock()
		return f.noBox(id)
	}
	name, hook := b.Name, f.beforeStart
	f.record("start %s", name)
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, name); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failStart[name]; err != nil {
		return err
	}
	b.Status, b.ExitCode, b.FinishedAt, b.ManualStop, b.Health = spec.StatusRunning, 0, time.Time{}, false, ""
	if b.HasHealthCheck {
		b.Health = spec.HealthStarting
	}
	for _, s := range f.script[name] {
		if s.after == 0 {
			f.apply(b, s)
			continue
		}
		time.AfterFunc(s.after, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.boxes[b.ID] == b {
				f.apply(b, s)
			}
		})
	}
	return nil
}

func (f *fakeRuntime) apply(b *Box, s step) {
	s.apply(b)
	if s.event != "" {
		f.record("%s: %s", b.Name, s.event)
	}
}

func (f *fakeRuntime) Stop(ctx context.Context, id string, timeout int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(id)
	if b == nil {
		return f.noBox(id)
	}
	f.record("stop %s", b.Name)
	f.stopTimeouts[b.Name] = timeout
	if b.Running() {
		b.Status, b.ExitCode, b.FinishedAt, b.ManualStop, b.Health = spec.StatusExited, 137, time.Now(), true, ""
	}
	return nil
}

func (f *fakeRuntime) Remove(ctx context.Context, id string, volumes bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(id)
	if b == nil {
		return f.noBox(id)
	}
	f.record("remove %s", b.Name)
	delete(f.boxes, b.ID)
	delete(f.specs, b.ID)
	return nil
}

func (f *fakeRuntime) Repair(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repairs++
	return nil
}

func (f *fakeRuntime) Network(ref string) (*Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.networks {
		if n.Name == ref || n.ID == ref {
			c := *n
			return &c, nil
		}
	}
	return nil, missing("network " + ref + " not found")
}

func (f *fakeRuntime) Networks() ([]*Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*Network
	for _, name := range slices.Sorted(maps.Keys(f.networks)) {
		c := *f.networks[name]
		out = append(out, &c)
	}
	return out, nil
}

func (f *fakeRuntime) CreateNetwork(ctx context.Context, c NetworkConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("network create %s", c.Name)
	if _, ok := f.networks[c.Name]; ok {
		return fmt.Errorf("network with name %s already exists", c.Name)
	}
	subnet := c.Subnet
	if subnet == "" {
		subnet = fmt.Sprintf("10.89.%d.0/24", len(f.networks))
	}
	f.networks[c.Name] = &Network{ID: "net-" + c.Name, Name: c.Name, Labels: maps.Clone(c.Labels), Internal: c.Internal, Subnet: subnet}
	return nil
}

func (f *fakeRuntime) RemoveNetwork(ctx context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, n := range f.networks {
		if n.Name == ref || n.ID == ref {
			f.record("network remove %s", name)
			delete(f.networks, name)
			return nil
		}
	}
	return missing("network " + ref + " not found")
}

func (f *fakeRuntime) Volume(name string) (*Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[name]
	if !ok {
		return nil, missing("no such volume: " + name)
	}
	c := *v
	return &c, nil
}

func (f *fakeRuntime) Volumes() ([]*Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*Volume
	for _, name := range slices.Sorted(maps.Keys(f.volumes)) {
		c := *f.volumes[name]
		out = append(out, &c)
	}
	return out, nil
}

// CreateVolume keeps a volume that exists, as the runtime does, and then
// logs nothing: nothing changed.
func (f *fakeRuntime) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[name]; ok {
		return nil
	}
	f.record("volume create %s", name)
	f.volumes[name] = &Volume{Name: name, Labels: maps.Clone(labels)}
	return nil
}

func (f *fakeRuntime) RemoveVolume(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[name]; !ok {
		return missing("no such volume: " + name)
	}
	for id, s := range f.specs {
		for _, m := range s.Volumes {
			if m.Type == spec.MountVolume && m.Source == name {
				return fmt.Errorf("cannot remove volume %s: volume is in use by %s", name, f.boxes[id].Name)
			}
		}
	}
	f.record("volume remove %s", name)
	delete(f.volumes, name)
	return nil
}

// String shows the log, for failure messages.
func (f *fakeRuntime) String() string { return strings.Join(f.changes(), "\n") }
