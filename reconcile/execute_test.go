package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/spec"
	"github.com/hashicorp/go-multierror"
)

// wait bounds the waits on dependencies in tests that do not time them,
// so that a wrong wait fails the test rather than hangs it.
const wait = 2 * time.Second

// testContext bounds a test's waits as a whole: a wait that never ends
// fails the test.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// chain is a stack of three boxes, each depending on the one before:
// web on api, api on db.
func chain() *spec.Stack {
	return &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{
		"db":  {Image: "postgres"},
		"api": {Image: "api", DependsOn: []spec.Dependency{{Name: "db", Condition: spec.DependStarted}}},
		"web": {Image: "web", DependsOn: []spec.Dependency{{Name: "api", Condition: spec.DependStarted}}},
	}}
}

// up makes the boxes of s on f from nothing.
func up(t *testing.T, e *Executor, f *fakeRuntime, s *spec.Stack) {
	t.Helper()
	if err := e.Execute(testContext(t), Plan(DesiredFromStack(s), nil)); err != nil {
		t.Fatalf("up: %v\n%s", err, f)
	}
}

func observe(t *testing.T, f *fakeRuntime, stack string) []ObservedBox {
	t.Helper()
	obs, err := Observe(f, map[string]bool{stack: true})
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestExecutorDependencyOrder(t *testing.T) {
	five := 5
	for _, c := range []struct {
		name        string
		stopTimeout *int
		// act runs on the stack already up; nil runs nothing more.
		act  func(t *testing.T, e *Executor, f *fakeRuntime, s *spec.Stack) error
		want []string
	}{
		{
			name: "dependencies start first",
			want: []string{"create shop-db-1", "start shop-db-1", "create shop-api-1", "start shop-api-1", "create shop-web-1", "start shop-web-1"},
		},
		{
			name: "teardown removes dependents first",
			act: func(t *testing.T, e *Executor, f *fakeRuntime, s *spec.Stack) error {
				return e.Execute(testContext(t), Teardown(s, observe(t, f, s.Name)))
			},
			want: []string{"remove shop-web-1", "remove shop-api-1", "remove shop-db-1"},
		},
		{
			name:        "a graceful teardown stops each box before it goes",
			stopTimeout: &five,
			act: func(t *testing.T, e *Executor, f *fakeRuntime, s *spec.Stack) error {
				return e.Execute(testContext(t), Teardown(s, observe(t, f, s.Name)))
			},
			want: []string{"stop shop-web-1", "remove shop-web-1", "stop shop-api-1", "remove shop-api-1", "stop shop-db-1", "remove shop-db-1"},
		},
		{
			name: "desired stopped stops dependents first",
			act: func(t *testing.T, e *Executor, f *fakeRuntime, s *spec.Stack) error {
				desired := DesiredFromStack(s)
				for i := range desired {
					desired[i].Stopped = true
				}
				return e.Execute(testContext(t), Plan(desired, observe(t, f, s.Name)))
			},
			want: []string{"stop shop-web-1", "stop shop-api-1", "stop shop-db-1"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeRuntime()
			e := &Executor{RT: f, DependTimeout: wait}
			s := chain()
			up(t, e, f, s)
			before := len(f.changes())
			if c.act == nil {
				before = 0
			} else {
				e.StopTimeout = c.stopTimeout
				if err := c.act(t, e, f, s); err != nil {
					t.Fatalf("%v\n%s", err, f)
				}
			}
			if got := f.changes()[before:]; !slices.Equal(got, c.want) {
				t.Errorf("runtime calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if c.stopTimeout != nil {
				for name, timeout := range f.stopTimeouts {
					if timeout != *c.stopTimeout {
						t.Errorf("%s stopped with %d seconds, want %d", name, timeout, *c.stopTimeout)
					}
				}
			}
		})
	}
}

func TestExecutorStopsWithTheBoxesGracePeriod(t *testing.T) {
	f := newFakeRuntime()
	e := &Executor{RT: f, DependTimeout: wait}
	s := chain()
	up(t, e, f, s)
	own := -1
	e.StopTimeout = &own
	if err := e.Execute(testContext(t), Teardown(s, observe(t, f, s.Name))); err != nil {
		t.Fatal(err)
	}
	if len(f.stopTimeouts) != 3 {
		t.Fatalf("stops %v, want 3", f.stopTimeouts)
	}
	for name, timeout := range f.stopTimeouts {
		if timeout >= 0 {
			t.Errorf("%s stopped with %d seconds; want a negative timeout (the box's own)", name, timeout)
		}
	}
}

func TestExecutorRunsAWaveInParallel(t *testing.T) {
	f := newFakeRuntime()
	s := &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{
		"a": {Image: "img"}, "b": {Image: "img"}, "c": {Image: "img"},
		"d": {Image: "img", DependsOn: []spec.Dependency{{Name: "a"}, {Name: "b"}, {Name: "c"}}},
	}}
	wave := map[string]bool{"shop-a-1": true, "shop-b-1": true, "shop-c-1": true}
	// Each start of the first wave waits for the other two: run one at a
	// time, the first would wait alone and give up.
	var arrived sync.WaitGroup
	arrived.Add(len(wave))
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	f.beforeStart = func(ctx context.Context, name string) error {
		if !wave[name] {
			return nil
		}
		arrived.Done()
		select {
		case <-all:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%s started while the rest of its wave did not", name)
		}
	}
	e := &Executor{RT: f, DependTimeout: wait}
	if err := e.Execute(testContext(t), Plan(DesiredFromStack(s), nil)); err != nil {
		t.Fatalf("%v\n%s", err, f)
	}
	d := f.index("create shop-d-1")
	for name := range wave {
		if i := f.index("start " + name); i < 0 || i > d {
			t.Errorf("%s started at %d, the box that depends on it was created at %d\n%s", name, i, d, f)
		}
	}
	if b := f.byName("shop-d-1"); b == nil || b.Status != spec.StatusRunning {
		t.Errorf("the second wave's box: %+v", b)
	}
}

func TestExecutorFailureSkipsOnlyDependents(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		fail func(f *fakeRuntime)
		want string // a's error
	}{
		{"create fails", func(f *fakeRuntime) { f.failCreate["shop-a-1"] = boom }, "create shop/a: boom"},
		{"start fails", func(f *fakeRuntime) { f.failStart["shop-a-1"] = boom }, "create shop/a: boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeRuntime()
			c.fail(f)
			s := &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{
				"a": {Image: "img"},
				"b": {Image: "img", DependsOn: []spec.Dependency{{Name: "a"}}},
				"c": {Image: "img"},
				"d": {Image: "img", DependsOn: []spec.Dependency{{Name: "c"}}},
				// e depends on b, which is skipped: it is skipped too.
				"e": {Image: "img", DependsOn: []spec.Dependency{{Name: "b"}}},
			}}
			var progress bytes.Buffer
			e := &Executor{RT: f, Progress: &progress, DependTimeout: wait}
			err := e.Execute(testContext(t), Plan(DesiredFromStack(s), nil))
			var merr *multierror.Error
			if !errors.As(err, &merr) {
				t.Fatalf("Execute = %v, want a multierror", err)
			}
			var got []string
			for _, e := range merr.Errors {
				got = append(got, e.Error())
			}
			want := []string{c.want, "create shop/b: dependency failed: a", "create shop/e: dependency failed: b"}
			if !slices.Equal(got, want) {
				t.Errorf("errors %q, want %q", got, want)
			}
			if !errors.Is(err, ErrDependency) || !errors.Is(err, boom) {
				t.Errorf("errors.Is(%v) does not find ErrDependency and the failure", err)
			}
			for _, name := range []string{"shop-c-1", "shop-d-1"} {
				if b := f.byName(name); b == nil || b.Status != spec.StatusRunning {
					t.Errorf("%s, which depends on nothing that failed: %+v", name, b)
				}
			}
			for _, name := range []string{"shop-b-1", "shop-e-1"} {
				if f.index("create "+name) >= 0 {
					t.Errorf("%s was created though what it depends on failed\n%s", name, f)
				}
			}
			if !strings.Contains(progress.String(), " ! shop-b-1: skipped, a failed\n") {
				t.Errorf("progress:\n%s", progress.String())
			}
		})
	}
}

func TestExecutorSecondRunIsANoop(t *testing.T) {
	f := newFakeRuntime()
	s := chain()
	s.Boxes["job"] = spec.Box{Image: "img", Restart: spec.RestartPolicy{Name: spec.RestartNo}}
	s.Boxes["spare"] = spec.Box{Image: "img"}
	s.Boxes["always"] = spec.Box{Image: "img", Restart: spec.RestartPolicy{Name: spec.RestartAlways}}
	f.script["shop-job-1"] = []step{{apply: func(b *Box) { b.Status, b.FinishedAt = spec.StatusExited, time.Now() }}}
	desired := DesiredFromStack(s)
	for i := range desired {
		desired[i].Stopped = desired[i].Name == "spare"
	}
	e := &Executor{RT: f, DependTimeout: wait}
	if err := e.Execute(testContext(t), Plan(desired, nil)); err != nil {
		t.Fatal(err)
	}
	before := f.changes()
	again := Plan(desired, observe(t, f, "shop"))
	if len(again) != 0 {
		t.Fatalf("second plan: %v", again)
	}
	if err := e.Execute(testContext(t), again); err != nil {
		t.Fatal(err)
	}
	if got := f.changes(); !slices.Equal(got, before) {
		t.Errorf("the second run called the runtime: %q", got[len(before):])
	}
	// The plan is not empty for want of boxes: one that exits under
	// restart always is started again.
	f.mu.Lock()
	f.find("shop-always-1").Status = spec.StatusExited
	f.mu.Unlock()
	if acts := Plan(desired, observe(t, f, "shop")); len(acts) != 1 || acts[0].Kind != ActionStart || acts[0].Box != "always" {
		t.Errorf("plan after a box exited: %v", acts)
	}
}

func TestExecutorRecreatesOnlyTheChangedBox(t *testing.T) {
	for _, box := range []string{"db", "api", "web"} {
		t.Run(box, func(t *testing.T) {
			f := newFakeRuntime()
			e := &Executor{RT: f, DependTimeout: wait}
			s := chain()
			up(t, e, f, s)
			oldID := f.byName("shop-" + box + "-1").ID
			before := len(f.changes())
			b := s.Boxes[box]
			b.Env = []string{"CHANGED=1"}
			s.Boxes[box] = b
			if err := e.Execute(testContext(t), Plan(DesiredFromStack(s), observe(t, f, "shop"))); err != nil {
				t.Fatal(err)
			}
			name := "shop-" + box + "-1"
			want := []string{"remove " + name, "create " + name, "start " + name}
			if got := f.changes()[before:]; !slices.Equal(got, want) {
				t.Errorf("runtime calls %q, want %q", got, want)
			}
			now := f.byName(name)
			if now.ID == oldID || now.Labels[LabelHash] != ConfigHash(s, box) {
				t.Errorf("recreated box %+v: want a new box with hash %s", now, ConfigHash(s, box))
			}
		})
	}
}

func TestExecutorWaitsForConditions(t *testing.T) {
	const short = 300 * time.Millisecond
	healthy := step{after: 150 * time.Millisecond, event: "healthy", apply: func(b *Box) { b.Health = spec.HealthHealthy }}
	exits := func(code int) step {
		return step{after: 150 * time.Millisecond, event: fmt.Sprintf("exited %d", code), apply: func(b *Box) {
			b.Status, b.ExitCode, b.FinishedAt = spec.StatusExited, code, time.Now()
		}}
	}
	check := &spec.Healthcheck{Test: []string{"CMD", "true"}}
	for _, c := range []struct {
		name      string
		condition string
		health    *spec.Healthcheck
		script    []step
		// replicas of dep, each but the first scripted with later.
		replicas int
		later    []step
		timeout  time.Duration
		// after is the event the dependent's start must follow; "" for
		// none.
		after string
		err   string // in the dependent's error; "" when it starts
	}{
		{name: "started", condition: spec.DependStarted, timeout: short},
		{name: "healthy", condition: spec.DependHealthy, health: check, script: []step{healthy}, timeout: 5 * time.Second, after: "shop-dep-1: healthy"},
		{name: "never healthy", condition: spec.DependHealthy, health: check, timeout: short, err: "create shop/app: depends on dep (healthy): not met after 300ms"},
		{name: "healthy without a health check", condition: spec.DependHealthy, timeout: short, err: "create shop/app: depends on dep (healthy): box shop-dep-1 has no health check"},
		{name: "every replica healthy", condition: spec.DependHealthy, health: check, timeout: 5 * time.Second,
			script:   []step{{event: "healthy", apply: func(b *Box) { b.Health = spec.HealthHealthy }}},
			replicas: 2, later: []step{healthy}, after: "shop-dep-2: healthy"},
		{name: "completed successfully", condition: spec.DependCompleted, script: []step{exits(0)}, timeout: 5 * time.Second, after: "shop-dep-1: exited 0"},
		{name: "completed with a failure", condition: spec.DependCompleted, script: []step{exits(3)}, timeout: 5 * time.Second, err: "create shop/app: depends on dep (completed): box shop-dep-1 exited with status 3"},
		{name: "never completed", condition: spec.DependCompleted, timeout: short, err: "create shop/app: depends on dep (completed): not met after 300ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.script["shop-dep-1"] = c.script
			var replicas *int
			if c.replicas > 0 {
				replicas = &c.replicas
				for n := 2; n <= c.replicas; n++ {
					f.script[ReplicaName("shop", "dep", n)] = c.later
				}
			}
			s := &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{
				"dep": {Image: "img", Healthcheck: c.health, Replicas: replicas},
				"app": {Image: "img", DependsOn: []spec.Dependency{{Name: "dep", Condition: c.condition}}},
			}}
			e := &Executor{RT: f, DependTimeout: c.timeout}
			began := time.Now()
			err := e.Execute(testContext(t), Plan(DesiredFromStack(s), nil))
			took := time.Since(began)
			started := f.index("start shop-app-1")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Execute = %v, want %q", err, c.err)
				}
				if started >= 0 {
					t.Errorf("the dependent started\n%s", f)
				}
				if strings.Contains(c.err, "not met") && took < c.timeout {
					t.Errorf("gave up after %s, before the timeout", took)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, f)
			}
			if started < 0 {
				t.Fatalf("the dependent did not start\n%s", f)
			}
			if c.after != "" && f.index(c.after) > started {
				t.Errorf("the dependent started before %q\n%s", c.after, f)
			}
			if c.after != "" && f.index(c.after) < 0 {
				t.Errorf("no %q\n%s", c.after, f)
			}
		})
	}
}

func TestExecutorWaitStack(t *testing.T) {
	const short = 300 * time.Millisecond
	check := &spec.Healthcheck{Test: []string{"CMD", "true"}}
	for _, c := range []struct {
		name    string
		health  *spec.Healthcheck
		script  []step
		timeout time.Duration
		err     string
	}{
		{name: "running", timeout: short},
		{name: "turns healthy", health: check, timeout: 5 * time.Second,
			script: []step{{after: 250 * time.Millisecond, apply: func(b *Box) { b.Health = spec.HealthHealthy }}}},
		{name: "never healthy", health: check, timeout: short, err: "--wait gave up after 300ms: shop-web-1 is not healthy yet"},
		{name: "completes", timeout: 5 * time.Second,
			script: []step{{apply: func(b *Box) { b.Status, b.FinishedAt = spec.StatusExited, time.Now() }}}},
		// Waited on for its health, it exits instead.
		{name: "fails", health: check, timeout: 5 * time.Second,
			script: []step{{after: 250 * time.Millisecond, apply: func(b *Box) { b.Status, b.ExitCode, b.FinishedAt = spec.StatusExited, 2, time.Now() }}},
			err:    "box shop-web-1 exited with status 2"},
		{name: "stopped", timeout: short,
			script: []step{{apply: func(b *Box) { b.Status = spec.StatusCreated }}},
			err:    "--wait gave up after 300ms: shop-web-1 is created"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.script["shop-web-1"] = c.script
			s := &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{"web": {Image: "img", Healthcheck: c.health}}}
			e := &Executor{RT: f, DependTimeout: wait}
			up(t, e, f, s)
			err := e.WaitStack(testContext(t), s, c.timeout)
			if c.err == "" && err != nil || c.err != "" && (err == nil || err.Error() != c.err) {
				t.Fatalf("WaitStack = %v, want %q", err, c.err)
			}
		})
	}
}

// WaitStack looks at every replica, and names the last box still
// pending, as apply --wait always has.
func TestExecutorWaitStackNamesTheLastPendingBox(t *testing.T) {
	f := newFakeRuntime()
	two := 2
	s := &spec.Stack{Name: "shop", Boxes: map[string]spec.Box{
		"api": {Image: "img", Healthcheck: &spec.Healthcheck{Test: []string{"CMD", "true"}}},
		"web": {Image: "img", Replicas: &two},
	}}
	f.script["shop-web-2"] = []step{{apply: func(b *Box) { b.Status = spec.StatusCreated }}}
	e := &Executor{RT: f, DependTimeout: wait}
	up(t, e, f, s)
	err := e.WaitStack(testContext(t), s, 300*time.Millisecond)
	if want := "--wait gave up after 300ms: shop-web-2 is created"; err == nil || err.Error() != want {
		t.Fatalf("WaitStack = %v, want %q", err, want)
	}
	f.mu.Lock()
	delete(f.boxes, f.find("shop-web-2").ID)
	f.mu.Unlock()
	if err := e.WaitStack(testContext(t), s, time.Second); err == nil || err.Error() != "no such box: shop-web-2" {
		t.Fatalf("WaitStack of a missing box = %v", err)
	}
}

func TestReconcileThroughTheRuntime(t *testing.T) {
	ctx := testContext(t)
	store := NewStore(t.TempDir())
	f := newFakeRuntime()
	e := &Executor{RT: f, DependTimeout: wait}
	s := chain()
	s.Volumes = map[string]spec.Volume{"data": {}}
	db := s.Boxes["db"]
	db.Volumes = []spec.Mount{{Type: spec.MountVolume, Source: "data", Target: "/var/lib/postgresql"}}
	s.Boxes["db"] = db
	rec, _, err := store.Put(ctx, s, Source{Kind: SourceFile, Path: "/stacks/shop.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Reconcile(ctx, store, "shop", false)
	if err != nil {
		t.Fatalf("%v\n%s", err, f)
	}
	want := []string{"network create shop_default", "volume create shop_data",
		"create shop-db-1", "start shop-db-1", "create shop-api-1", "start shop-api-1", "create shop-web-1", "start shop-web-1"}
	if got := f.changes(); !slices.Equal(got, want) {
		t.Errorf("runtime calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Actions) != 3 {
		t.Errorf("actions %v", res.Actions)
	}
	if net := f.networks["shop_default"]; net == nil || net.Labels[LabelStack] != "shop" {
		t.Errorf("network %+v", net)
	}
	if f.specs[f.byName("shop-db-1").ID].Volumes[0].Source != "shop_data" {
		t.Errorf("db mounts %+v, want the volume under its machine name", f.specs[f.byName("shop-db-1").ID].Volumes)
	}
	got, err := store.Get("shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.ObservedGeneration != rec.Generation || got.Status.Error != "" || len(got.Status.Boxes) != 3 || got.Status.Boxes["shop-web-1"].State != spec.StatusRunning {
		t.Errorf("status %+v", got.Status)
	}

	// The same desired state again changes nothing.
	before := f.changes()
	res, err = e.Reconcile(ctx, store, "shop", false)
	if err != nil || len(res.Actions) != 0 || len(res.Orphans) != 0 {
		t.Fatalf("second reconcile: %+v, %v", res, err)
	}
	if got := f.changes(); !slices.Equal(got, before) {
		t.Errorf("the second reconcile called the runtime: %q", got[len(before):])
	}
	if f.repairs != 2 {
		t.Errorf("%d repair passes, want one per reconcile", f.repairs)
	}

	// A box the stack no longer has stays without prune, and goes with it.
	delete(s.Boxes, "web")
	if _, _, err := store.Put(ctx, s, Source{Kind: SourceFile, Path: "/stacks/shop.yaml"}); err != nil {
		t.Fatal(err)
	}
	res, err = e.Reconcile(ctx, store, "shop", false)
	if err != nil || len(res.Actions) != 0 || len(res.Orphans) != 1 || res.Orphans[0].BoxName() != "shop-web-1" {
		t.Fatalf("reconcile without prune: %+v, %v", res, err)
	}
	if f.byName("shop-web-1") == nil {
		t.Fatal("an orphan was removed without prune")
	}
	if _, err := e.Reconcile(ctx, store, "shop", true); err != nil {
		t.Fatal(err)
	}
	if f.byName("shop-web-1") != nil {
		t.Errorf("prune left the orphan\n%s", f)
	}

	// A failure is recorded in the stack's status.
	db = s.Boxes["db"]
	db.Env = []string{"CHANGED=1"}
	s.Boxes["db"] = db
	rec, _, err = store.Put(ctx, s, Source{Kind: SourceFile, Path: "/stacks/shop.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	f.failCreate["shop-db-1"] = errors.New("no such image: postgres")
	if _, err := e.Reconcile(ctx, store, "shop", false); err == nil {
		t.Fatal("a failing create reconciled")
	}
	got, _ = store.Get("shop")
	if got.Status.ObservedGeneration != rec.Generation || !strings.Contains(got.Status.Error, "recreate shop/db: no such image: postgres") {
		t.Errorf("status after a failure %+v", got.Status)
	}
}
