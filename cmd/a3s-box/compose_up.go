package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

// composeUp is `compose up`: an apply of the project (its desired state
// stored as the stack of the project's name, then reconciled), narrowed
// to the services named and their dependencies. Without -d it then shows
// the services' output, and Ctrl-C stops them.
func composeUp(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("up", "up [OPTIONS] [SERVICE...]", "Create and start boxes")
	detach := fs.BoolP("detach", "d", false, "Detached mode: run boxes in the background")
	wait := fs.Bool("wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	waitTimeout := fs.Int("wait-timeout", 0, "Maximum duration in seconds to wait for the project to be running|healthy (0: no limit)")
	removeOrphans := fs.Bool("remove-orphans", false, "Remove boxes for services not defined in the compose file")
	forceRecreate := fs.Bool("force-recreate", false, "Recreate boxes even if their configuration hasn't changed")
	noStart := fs.Bool("no-start", false, "Don't start the services after creating them")
	scales := fs.StringArray("scale", nil, "Scale SERVICE to NUM instances. Overrides the scale setting in the compose file if present.")
	timeout := fs.IntP("timeout", "t", -1, "Use this timeout in seconds for box shutdown when attached or when boxes are already running")
	noColor := fs.Bool("no-color", false, "Produce monochrome output")
	noPrefix := fs.Bool("no-log-prefix", false, "Don't print prefix in logs")
	stamps := fs.Bool("timestamps", false, "Show timestamps")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	// Everything is checked before anything changes.
	services := fs.Args()
	proj, err := p.loadServices(ctx, services)
	if err != nil {
		return err
	}
	s := *proj.Stack
	s.Boxes = maps.Clone(s.Boxes)
	for _, sc := range *scales {
		svc, n, err := parseScale(sc)
		if err != nil {
			return err
		}
		if err := checkServices(&s, nil, []string{svc}); err != nil {
			return err
		}
		b := s.Boxes[svc]
		b.Replicas = &n
		s.Boxes[svc] = b
	}
	limit := 24 * time.Hour
	if *waitTimeout > 0 {
		limit = time.Duration(*waitTimeout) * time.Second
	}
	e, err := p.c.engine(ctx)
	if err != nil {
		return err
	}
	src := reconcile.Source{Kind: reconcile.SourceFile, Path: proj.Files[0]}
	if len(proj.Files) > 1 {
		src.Files = proj.Files
	}
	started := time.Now()
	var only map[string]bool
	if len(services) > 0 {
		only = reconcile.WithDependencies(&s, services)
	}
	o := engine.ReconcileOptions{
		Options:  reconcile.Options{Prune: *removeOrphans, Only: only, Recreate: *forceRecreate, NoStart: *noStart},
		Progress: p.c.stdout, DependTimeout: limit, StopTimeout: timeout,
	}
	res, err := e.Apply(ctx, &s, src, o)
	if res == nil {
		return err
	}
	if res.Result != nil && len(res.Orphans) > 0 {
		var names []string
		for _, o := range res.Orphans {
			names = append(names, o.BoxName())
		}
		fmt.Fprintf(p.c.stderr, "a3s-box: warning: found orphan boxes (%s) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n", strings.Join(names, ", "))
	}
	if err != nil {
		fmt.Fprintf(p.c.stderr, "a3s-box: project %s: %s\n", s.Name, strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
		return errPrinted
	}
	if *noStart {
		return nil
	}
	if *wait {
		return e.WaitStack(ctx, narrowStack(&s, only), limit)
	}
	if *detach {
		return nil
	}
	return p.attachUp(ctx, e, &s, only, o, logOptions{
		LogOptions: runtime.LogOptions{Follow: true, Tail: -1, Since: started}, stamps: *stamps, noColor: *noColor, noPrefix: *noPrefix,
	})
}

// parseScale reads --scale SERVICE=N.
func parseScale(s string) (string, int, error) {
	svc, num, ok := strings.Cut(s, "=")
	n, err := strconv.Atoi(num)
	if !ok || svc == "" || err != nil || n < 0 {
		return "", 0, fmt.Errorf("invalid --scale %q: want SERVICE=N, N a number of boxes from 0", s)
	}
	return svc, n, nil
}

// narrowStack is s with only the boxes in only (all when nil).
func narrowStack(s *spec.Stack, only map[string]bool) *spec.Stack {
	if only == nil {
		return s
	}
	n := *s
	n.Boxes = map[string]spec.Box{}
	for name, b := range s.Boxes {
		if only[name] {
			n.Boxes[name] = b
		}
	}
	return &n
}

// attachUp follows the output of the project's services until they have
// all stopped. A first SIGINT or SIGTERM stops them, dependents first, as
// an edit of the desired state (compose stop); a second kills them.
func (p *compose) attachUp(ctx context.Context, e *engine.Engine, s *spec.Stack, only map[string]bool, ro engine.ReconcileOptions, o logOptions) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	boxes, err := projectBoxes(e, s.Name, slices.Collect(maps.Keys(narrowStack(s, only).Boxes)), false)
	if err != nil {
		return err
	}
	follow, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	done := make(chan error, 1)
	go func() { done <- streamLogs(follow, p.c, e, s.Name, boxes, o) }()
	select {
	case err := <-done:
		return err
	case <-sigs:
	}
	fmt.Fprintln(p.c.stdout, "Gracefully stopping... (press Ctrl+C again to force)")
	stopped := make(chan error, 1)
	go func() { stopped <- e.StopStack(ctx, s.Name, only, ro) }()
	for {
		select {
		case err := <-stopped:
			stopFollowing()
			<-done
			if err != nil {
				return err
			}
			return &exitError{code: 130}
		case <-sigs:
			for _, b := range boxes {
				_ = e.Kill(ctx, b.Box, syscall.SIGKILL)
			}
		}
	}
}

// servicesSet is the set of services, nil (all) when none are named.
func servicesSet(services []string) map[string]bool {
	if len(services) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, s := range services {
		set[s] = true
	}
	return set
}

// composeDown is `compose down`: a delete of the project's stack. Boxes
// stop gracefully (-t, else each box's grace period) before they go.
func composeDown(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("down", "down [OPTIONS]", "Stop and remove boxes")
	volumes := fs.BoolP("volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the compose file and anonymous volumes attached to boxes")
	removeOrphans := fs.Bool("remove-orphans", false, "Remove boxes for services not defined in the compose file")
	rmi := fs.String("rmi", "", "Remove images used by services: \"local\" removes only images that don't have a custom tag (\"local\"|\"all\")")
	timeout := fs.IntP("timeout", "t", -1, "Specify a shutdown timeout in seconds")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("'a3s-box compose down' accepts no arguments.\nSee 'a3s-box compose down --help'.")
	}
	if *rmi != "" && *rmi != "local" && *rmi != "all" {
		return fmt.Errorf("invalid --rmi %q: want local or all", *rmi)
	}
	name, err := p.name(ctx)
	if err != nil {
		return err
	}
	e, err := p.c.engine(ctx)
	if err != nil {
		return err
	}
	stack := p.stack(e, name)
	o := engine.DeleteOptions{ReconcileOptions: engine.ReconcileOptions{Progress: p.c.stdout, StopTimeout: timeout}, Volumes: *volumes}
	if !*removeOrphans && p.project != nil {
		known := p.project.Stack.Boxes
		var orphans []string
		o.Keep = func(b reconcile.ObservedBox) bool {
			_, ok := known[b.Name]
			if !ok {
				orphans = append(orphans, b.Name)
			}
			return !ok
		}
		defer func() {
			if len(orphans) > 0 {
				fmt.Fprintf(p.c.stderr, "a3s-box: warning: found orphan boxes of services %s for this project; down --remove-orphans removes them\n", strings.Join(orphans, ", "))
			}
		}()
	}
	// One-off boxes of `compose run` go with the project.
	o.OneOffs = true
	err = e.Delete(ctx, name, o)
	if errors.Is(err, reconcile.ErrNoStack) {
		err = nil // nothing of the project exists: nothing to do
	}
	if err != nil {
		return err
	}
	if *rmi == "all" && stack != nil {
		e.RemoveStackImages(ctx, stack, func(ref string, err error) {
			if err != nil {
				fmt.Fprintf(p.c.stderr, "a3s-box: warning: image %s: %v\n", ref, err)
				return
			}
			fmt.Fprintf(p.c.stdout, " ✔ image %s: removed\n", ref)
		})
	}
	return nil
}

// stopTimeout is -t when given (non-negative), else each box's own.
func stopTimeout(t int) engine.StopOptions {
	if t >= 0 {
		return engine.StopOptions{Timeout: &t}
	}
	return engine.StopOptions{}
}

// composeStart starts the services' existing boxes, dependencies first,
// waiting for their conditions; it creates none.
func composeStart(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("start", "start [SERVICE...]", "Start services")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	return p.startStop(ctx, fs.Args(), false, -1)
}

// composeStop stops the services' boxes, dependents first, and marks them
// stopped in the desired state, so that no reconcile starts them again.
func composeStop(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("stop", "stop [OPTIONS] [SERVICE...]", "Stop services")
	timeout := fs.IntP("timeout", "t", -1, "Specify a shutdown timeout in seconds")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	return p.startStop(ctx, fs.Args(), true, *timeout)
}

func (p *compose) startStop(ctx context.Context, services []string, stop bool, timeout int) error {
	name, err := p.name(ctx)
	if err != nil {
		return err
	}
	if _, err := p.boxes(ctx, services, false); err != nil {
		return err
	}
	e, err := p.c.engine(ctx)
	if err != nil {
		return err
	}
	if _, err := e.Stack(name); err != nil {
		return fmt.Errorf("project %s: %w (compose up creates it)", name, err)
	}
	only := servicesSet(services)
	o := engine.ReconcileOptions{Progress: p.c.stdout, StopTimeout: &timeout}
	if stop {
		return e.StopStack(ctx, name, only, o)
	}
	return e.StartStack(ctx, name, only, o)
}

// composeRestart stops and starts the services' boxes, dependencies
// first; they keep their configuration (compose up applies a changed
// one).
func composeRestart(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("restart", "restart [OPTIONS] [SERVICE...]", "Restart service boxes")
	timeout := fs.IntP("timeout", "t", -1, "Specify a shutdown timeout in seconds")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	v, err := p.boxes(ctx, fs.Args(), false)
	if err != nil {
		return err
	}
	order := map[string]int{}
	if v.stack != nil {
		for i, svc := range reconcile.StartOrder(v.stack) {
			order[svc] = i
		}
	}
	slices.SortStableFunc(v.boxes, func(a, b projectBox) int { return order[a.service] - order[b.service] })
	for _, b := range v.boxes {
		if err := v.eng.Restart(ctx, b.Box, stopTimeout(*timeout)); err != nil {
			return fmt.Errorf("restart %s: %w", b.Name, err)
		}
		fmt.Fprintf(p.c.stdout, " ✔ %s: restarted\n", b.Name)
	}
	return nil
}

// composePull pulls the images of the services, each image once.
func composePull(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("pull", "pull [OPTIONS] [SERVICE...]", "Pull service images")
	quiet := fs.BoolP("quiet", "q", false, "Pull without printing progress information")
	ignore := fs.Bool("ignore-pull-failures", false, "Pull what it can and ignores images with pull failures")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	proj, err := p.loadServices(ctx, fs.Args())
	if err != nil {
		return err
	}
	s, cfg, err := p.c.images()
	if err != nil {
		return err
	}
	services := fs.Args()
	if len(services) == 0 {
		services = proj.Stack.BoxNames()
	}
	failed := false
	pulled := map[string]error{}
	for _, svc := range services {
		ref := proj.Stack.Boxes[svc].Image
		err, done := pulled[ref]
		if !done {
			_, err = s.Pull(ctx, ref, image.PullOptions{Insecure: cfg.Insecure})
			pulled[ref] = err
		}
		switch {
		case err != nil:
			failed = true
			fmt.Fprintf(p.c.stderr, " ✘ %s: %v\n", svc, err)
		case !*quiet:
			fmt.Fprintf(p.c.stdout, " ✔ %s: pulled %s\n", svc, ref)
		}
	}
	if failed && !*ignore {
		return errPrinted
	}
	return nil
}
