package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

// `a3s-box compose` is docker compose's verbs over the same desired
// state as apply: a compose project is a stack named after the project,
// read by compose-go (spec.LoadCompose), and its services' boxes are
// <project>-<service>-<n> with compose's labels. up is an apply of the
// project, down a delete; the other verbs view or edit its boxes.

func init() {
	register(&verb{name: "compose", summary: "Run compose projects (up, down, ps, logs, exec, run, ...)", errCode: 1, run: composeVerb})
}

// compose is one `a3s-box compose` invocation: the project options and,
// once loaded, the project.
type compose struct {
	c       *cli
	opts    spec.ComposeOptions
	project *spec.ComposeProject
}

var composeSubcommands = map[string]struct {
	run     func(ctx context.Context, p *compose, args []string) error
	summary string
}{
	"up":      {composeUp, "Create and start boxes"},
	"down":    {composeDown, "Stop and remove boxes"},
	"ps":      {composePS, "List boxes"},
	"logs":    {composeLogs, "View output from boxes"},
	"exec":    {composeExec, "Execute a command in a running box"},
	"run":     {composeRun, "Run a one-off command on a service"},
	"start":   {composeStart, "Start services"},
	"stop":    {composeStop, "Stop services"},
	"restart": {composeRestart, "Restart service boxes"},
	"pull":    {composePull, "Pull service images"},
	"config":  {composeConfig, "Parse, resolve and render the compose file in canonical format"},
	"ls":      {composeLS, "List running compose projects"},
	"top":     {composeTop, "Display the running processes"},
	"port":    {composePort, "Print the public port for a port binding"},
	"images":  {composeImages, "List images used by the created boxes"},
}

func composeVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("compose", "compose [OPTIONS] COMMAND", "Define and run multi-box applications with compose files")
	fs.SetInterspersed(false)
	files := fs.StringArrayP("file", "f", nil, "Compose configuration files")
	name := fs.StringP("project-name", "p", "", "Project name")
	profiles := fs.StringArray("profile", nil, "Specify a profile to enable")
	envFiles := fs.StringArray("env-file", nil, "Specify an alternate environment file")
	dir := fs.String("project-directory", "", "Specify an alternate working directory (default: the path of the first compose file)")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(c.stdout, "\nCommands:\n")
		for _, n := range sortedKeys(composeSubcommands) {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", n, composeSubcommands[n].summary)
		}
		fmt.Fprint(c.stdout, "\nRun 'a3s-box compose COMMAND --help' for more information on a command.\n")
	}
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil
	}
	sub, ok := composeSubcommands[fs.Arg(0)]
	if !ok {
		return fmt.Errorf("'%s' is not an a3s-box compose command.\nSee 'a3s-box compose --help'.", fs.Arg(0))
	}
	p := &compose{c: c, opts: spec.ComposeOptions{Files: *files, Name: *name, Profiles: *profiles, EnvFiles: *envFiles, WorkingDir: *dir}}
	return sub.run(ctx, p, fs.Args()[1:])
}

// flags makes a compose subcommand's flag set.
func (p *compose) flags(name, usage, summary string) *pflag.FlagSet {
	return p.c.newFlags("compose "+name, "compose "+usage, summary)
}

// load reads the project's files, once; warnings go to stderr.
func (p *compose) load(ctx context.Context) (*spec.ComposeProject, error) {
	if p.project != nil {
		return p.project, nil
	}
	proj, err := spec.LoadCompose(ctx, p.opts)
	if err != nil {
		return nil, stackErrors(err)
	}
	for _, w := range proj.Warnings {
		fmt.Fprintf(p.c.stderr, "a3s-box: warning: %s\n", w.String())
	}
	warnUnsupported(p.c, proj.Stack)
	p.project = proj
	return proj, nil
}

// name is the project's name. Verbs that only look at boxes need no
// file: -p names the project, as in compose; without -p the files are
// read for it, and COMPOSE_PROJECT_NAME answers when there are none.
func (p *compose) name(ctx context.Context) (string, error) {
	if p.opts.Name != "" && len(p.opts.Files) == 0 {
		return p.opts.Name, spec.CheckStackName(p.opts.Name)
	}
	proj, err := p.load(ctx)
	if err != nil {
		if n := os.Getenv("COMPOSE_PROJECT_NAME"); n != "" && errors.Is(err, spec.ErrNoComposeFile) {
			return n, nil
		}
		return "", err
	}
	return proj.Stack.Name, nil
}

// loadServices loads the project and refuses service names it does not
// have.
func (p *compose) loadServices(ctx context.Context, services []string) (*spec.ComposeProject, error) {
	proj, err := p.load(ctx)
	if err != nil {
		return nil, err
	}
	return proj, checkServices(proj.Stack, nil, services)
}

// view is what verbs that look at a project's boxes work on.
type view struct {
	name  string
	eng   *engine.Engine
	stack *spec.Stack // nil when neither the files nor the store have it
	boxes []projectBox
}

// boxes resolves the project and lists its boxes of services (all when
// none), by name, one-offs only with oneoff; a name that is no service of
// the project is refused.
func (p *compose) boxes(ctx context.Context, services []string, oneoff bool) (*view, error) {
	name, err := p.name(ctx)
	if err != nil {
		return nil, err
	}
	eng, err := p.c.engine(ctx)
	if err != nil {
		return nil, err
	}
	v := &view{name: name, eng: eng, stack: p.stack(eng, name)}
	all, err := projectBoxes(eng, name, nil, oneoff)
	if err != nil {
		return nil, err
	}
	if err := checkServices(v.stack, all, services); err != nil {
		return nil, err
	}
	for _, b := range all {
		if len(services) == 0 || slices.Contains(services, b.service) {
			v.boxes = append(v.boxes, b)
		}
	}
	return v, nil
}

// stack is the project's stack as last loaded or stored: what verbs that
// need no file know of its services. Nil when neither has it.
func (p *compose) stack(eng *engine.Engine, name string) *spec.Stack {
	if p.project != nil {
		return p.project.Stack
	}
	if rec, err := eng.Stack(name); err == nil {
		return &rec.Stack
	}
	return nil
}

// checkServices refuses names that are no service of the project: of its
// stack where known, else of its boxes.
func checkServices(s *spec.Stack, boxes []projectBox, services []string) error {
	for _, name := range services {
		if s != nil {
			if _, ok := s.Boxes[name]; ok {
				continue
			}
		} else if slices.ContainsFunc(boxes, func(b projectBox) bool { return b.service == name }) {
			continue
		}
		return fmt.Errorf("no such service: %s", name)
	}
	return nil
}

// projectBox is one box of a compose project.
type projectBox struct {
	*runtime.Box
	service string
	number  int
	oneoff  bool
}

// shortName is the box's name without the project's, as compose's log
// prefixes show it: web-1.
func (b projectBox) shortName(project string) string {
	return strings.TrimPrefix(b.Name, project+"-")
}

// projectBoxes lists the project's boxes of services (all when none), by
// name; one-offs (compose run) only with oneoff.
func projectBoxes(eng *engine.Engine, project string, services []string, oneoff bool) ([]projectBox, error) {
	all, err := eng.Boxes()
	if err != nil {
		return nil, err
	}
	var out []projectBox
	for _, b := range all {
		l := b.Spec.Labels
		if l[reconcile.LabelProject] != project || (len(services) > 0 && !slices.Contains(services, l[reconcile.LabelService])) {
			continue
		}
		pb := projectBox{Box: b, service: l[reconcile.LabelService], oneoff: l[reconcile.LabelOneoff] == "True"}
		if pb.oneoff && !oneoff {
			continue
		}
		pb.number, _ = strconv.Atoi(l[reconcile.LabelNumber])
		pb.number = max(pb.number, 1)
		out = append(out, pb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// sortedKeys are a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
