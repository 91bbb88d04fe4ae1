package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

const composePSTable = "{{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

// composePSRow is one box as `compose ps` templates see it: compose's
// field names, in the order of its JSON.
type composePSRow struct {
	Command      string
	CreatedAt    string
	ExitCode     int
	Health       string
	ID           string
	Image        string
	Labels       string
	LocalVolumes string
	Mounts       string
	Name         string
	Names        string
	Networks     string
	Ports        string
	Project      string
	Publishers   []composePublisher
	RunningFor   string
	Service      string
	Size         string
	State        string
	Status       string
	rowLabels
}

// composePublisher is one published port in compose's JSON.
type composePublisher struct {
	URL           string
	TargetPort    int
	PublishedPort int
	Protocol      string
}

var composePSHeader = composePSRow{
	ID: "CONTAINER ID", Name: "NAME", Names: "NAMES", Project: "PROJECT", Service: "SERVICE", Image: "IMAGE",
	Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED", Ports: "PORTS", State: "STATE",
	Status: "STATUS", Size: "SIZE", Labels: "LABELS", Health: "HEALTH", LocalVolumes: "LOCAL VOLUMES",
	Mounts: "MOUNTS", Networks: "NETWORKS", rowLabels: rowLabels{header: true},
}

func newComposePSRow(b projectBox, project string, now time.Time, noTrunc bool) composePSRow {
	ps := newPSRow(nil, b.Box, now, noTrunc, false)
	r := composePSRow{
		Command: ps.Command, CreatedAt: ps.CreatedAt, ExitCode: b.State.ExitCode, Health: ps.Health,
		ID: b.ID, Image: ps.Image, Labels: ps.Labels, LocalVolumes: strconv.Itoa(localVolumes(b.Box)),
		Name: b.Name, Names: b.Name, Project: project, Publishers: []composePublisher{}, RunningFor: ps.RunningFor,
		Service: b.service, State: ps.State, Status: ps.Status, rowLabels: rowLabels{labels: spec.UserLabels(b.Spec.Labels)},
	}
	if !noTrunc {
		r.ID = b.ID[:12]
	}
	ports := boxBindings(b.Box)
	for _, pp := range ports {
		ip := pp.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		r.Publishers = append(r.Publishers, composePublisher{URL: ip, TargetPort: int(pp.ContainerPort), PublishedPort: int(pp.HostPort), Protocol: pp.Protocol})
	}
	r.Ports = formatPorts(ports)
	return r
}

// composePS is `compose ps`: the project's boxes (one-offs included), by
// name, running ones unless -a.
func composePS(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("ps", "ps [OPTIONS] [SERVICE...]", "List boxes")
	all := fs.BoolP("all", "a", false, "Show all stopped boxes (including those created by the run command)")
	quiet := fs.BoolP("quiet", "q", false, "Only display IDs")
	services := fs.Bool("services", false, "Display services")
	statuses := fs.StringArray("status", nil, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
	filter := fs.String("filter", "", "Filter services by a property (supported filters: status)")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	noTrunc := fs.Bool("no-trunc", false, "Don't truncate output")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if *filter != "" {
		k, v, ok := strings.Cut(*filter, "=")
		if !ok || k != "status" {
			return fmt.Errorf("invalid --filter %q: the supported filter is status=STATUS", *filter)
		}
		*statuses = append(*statuses, v)
	}
	for _, s := range *statuses {
		if !boxStatuses[s] {
			return fmt.Errorf("invalid status %q: want paused, restarting, removing, running, dead, created or exited", s)
		}
	}
	v, err := p.boxes(ctx, fs.Args(), true)
	if err != nil {
		return err
	}
	now := time.Now()
	var rows []any
	var names []string
	for _, b := range v.boxes {
		switch {
		case len(*statuses) > 0 && !slices.Contains(*statuses, b.State.Status):
			continue
		case len(*statuses) == 0 && !*all && !engine.Active(b.Box) && b.State.Status != spec.StatusPaused:
			continue
		}
		if *quiet {
			fmt.Fprintln(p.c.stdout, b.ID)
			continue
		}
		if !slices.Contains(names, b.service) {
			names = append(names, b.service)
		}
		rows = append(rows, newComposePSRow(b, v.name, now, *noTrunc))
	}
	switch {
	case *quiet:
		return nil
	case *services:
		for _, n := range names {
			fmt.Fprintln(p.c.stdout, n)
		}
		return nil
	}
	l, err := newLister(p.c.stdout, *format, composePSTable, composePSHeader)
	if err != nil {
		return err
	}
	return l.print(rows)
}

// composeLSRow is one project in `compose ls`.
type composeLSRow struct {
	Name        string
	Status      string
	ConfigFiles string
}

// composeLS is `compose ls`: the projects boxes carry, with the count of
// boxes in each state and the files the project was last applied from.
func composeLS(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("ls", "ls [OPTIONS]", "List running compose projects")
	all := fs.BoolP("all", "a", false, "Show all stopped compose projects")
	quiet := fs.BoolP("quiet", "q", false, "Only display project names")
	format := fs.String("format", "table", "Format the output. Values: [table | json]")
	filters := fs.StringArray("filter", nil, "Filter output based on conditions provided (name=NAME)")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	var nameFilter []string
	for _, f := range *filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "name" {
			return fmt.Errorf("invalid filter %q: the supported filter is name=NAME", f)
		}
		nameFilter = append(nameFilter, v)
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("invalid --format %q: want table or json", *format)
	}
	eng, err := p.c.engine(ctx)
	if err != nil {
		return err
	}
	boxes, err := eng.Boxes()
	if err != nil {
		return err
	}
	states := map[string]map[string]int{}
	for _, b := range boxes {
		project := b.Spec.Labels[reconcile.LabelProject]
		if project == "" || (!*all && b.State.Status != spec.StatusRunning) {
			continue
		}
		if len(nameFilter) > 0 && !slices.ContainsFunc(nameFilter, func(n string) bool { return strings.Contains(project, n) }) {
			continue
		}
		if states[project] == nil {
			states[project] = map[string]int{}
		}
		states[project][b.State.Status]++
	}

	rows := []composeLSRow{}
	for _, project := range sortedKeys(states) {
		var status []string
		for _, st := range sortedKeys(states[project]) {
			status = append(status, fmt.Sprintf("%s(%d)", st, states[project][st]))
		}
		row := composeLSRow{Name: project, Status: strings.Join(status, ", ")}
		if rec, err := eng.Stack(project); err == nil {
			files := rec.Source.Files
			if len(files) == 0 && rec.Source.Path != "" {
				files = []string{rec.Source.Path}
			}
			row.ConfigFiles = strings.Join(files, ",")
		}
		rows = append(rows, row)
	}
	switch {
	case *quiet:
		for _, r := range rows {
			fmt.Fprintln(p.c.stdout, r.Name)
		}
		return nil
	case *format == "json":
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(p.c.stdout, string(b))
		return nil
	}
	l, err := newLister(p.c.stdout, "", "{{.Name}}\t{{.Status}}\t{{.ConfigFiles}}", composeLSRow{"NAME", "STATUS", "CONFIG FILES"})
	if err != nil {
		return err
	}
	var out []any
	for _, r := range rows {
		out = append(out, r)
	}
	return l.print(out)
}

// composeImages is `compose images`: the image of each of the project's
// boxes.
func composeImages(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("images", "images [OPTIONS] [SERVICE...]", "List images used by the created boxes")
	quiet := fs.BoolP("quiet", "q", false, "Only display IDs")
	format := fs.String("format", "", "Format the output: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	v, err := p.boxes(ctx, fs.Args(), false)
	if err != nil {
		return err
	}
	t := &table{headers: map[string]string{"ContainerName": "CONTAINER", "Repository": "REPOSITORY", "Tag": "TAG",
		"ID": "IMAGE ID", "Size": "SIZE"}}
	seen := map[string]bool{}
	for _, b := range v.boxes {
		id := shortOrFull(b.ImageID, false)
		if *quiet {
			if !seen[id] {
				seen[id] = true
				fmt.Fprintln(p.c.stdout, id)
			}
			continue
		}
		repo, tag := "<none>", "<none>"
		if full, err := image.Canonical(b.ImageRef); err == nil {
			r, tg, _ := image.SplitRef(full)
			repo = image.Familiar(r)
			if tg != "" {
				tag = tg
			}
		}
		size := "N/A"
		if img, err := v.eng.Images().Get(ctx, b.ImageID); err == nil {
			size = humanSize(img.Size)
		}
		t.rows = append(t.rows, map[string]any{"ContainerName": b.Name, "Repository": repo, "Tag": tag, "ID": id, "Size": size})
	}
	if *quiet {
		return nil
	}
	return t.write(p.c.stdout, *format, "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}")
}

// composePort is `compose port`: where a box port of a service's box is
// published on the host.
func composePort(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("port", "port [OPTIONS] SERVICE PRIVATE_PORT", "Print the public port for a port binding")
	index := fs.Int("index", 1, "Index of the box if the service has multiple replicas")
	protocol := fs.String("protocol", "tcp", "tcp or udp")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("'a3s-box compose port' requires 2 arguments: SERVICE PRIVATE_PORT")
	}
	port, err := strconv.ParseUint(fs.Arg(1), 10, 16)
	if err != nil || port == 0 {
		return fmt.Errorf("invalid port %q", fs.Arg(1))
	}
	b, err := p.serviceBox(ctx, fs.Arg(0), *index)
	if err != nil {
		return err
	}
	for _, pp := range boxBindings(b.Box) {
		if int(pp.ContainerPort) == int(port) && pp.Protocol == *protocol {
			ip := pp.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			fmt.Fprintf(p.c.stdout, "%s:%d\n", ip, pp.HostPort)
			return nil
		}
	}
	return fmt.Errorf("no public port '%d/%s' published for %s", port, *protocol, b.Name)
}

// serviceBox finds replica index of a service's boxes.
func (p *compose) serviceBox(ctx context.Context, service string, index int) (projectBox, error) {
	v, err := p.boxes(ctx, []string{service}, false)
	if err != nil {
		return projectBox{}, err
	}
	for _, b := range v.boxes {
		if b.number == index {
			return b, nil
		}
	}
	if len(v.boxes) > 0 {
		return projectBox{}, fmt.Errorf("service %q has no replica %d", service, index)
	}
	return projectBox{}, fmt.Errorf("service %q is not running", service)
}

// composeTop is `compose top`: the processes of each running box of the
// services, read from each guest's /proc as `top` does.
func composeTop(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("top", "top [SERVICES...]", "Display the running processes")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	v, err := p.boxes(ctx, fs.Args(), false)
	if err != nil {
		return err
	}
	first := true
	for _, b := range v.boxes {
		if !b.State.Running() {
			continue
		}
		t, err := v.eng.Top(ctx, b.Box)
		if err != nil {
			return fmt.Errorf("top %s: %w", b.Name, err)
		}
		if !first {
			fmt.Fprintln(p.c.stdout)
		}
		first = false
		fmt.Fprintln(p.c.stdout, b.Name)
		ps, err := parsePSOptions(nil)
		if err != nil {
			return err
		}
		titles, rows := ps.render(t, time.Now())
		if err := writeTop(p.c.stdout, titles, rows, false); err != nil {
			return err
		}
	}
	return nil
}
