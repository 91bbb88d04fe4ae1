package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "ps", summary: "List boxes", errCode: 1, run: psVerb})
}

const psTable = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// psHeader is the heading row: the same template run over it names the
// columns.
var psHeader = psRow{
	ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT",
	RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS",
	Size: "SIZE", Names: "NAMES", Labels: "LABELS", Mounts: "MOUNTS", Networks: "NETWORKS",
	LocalVolumes: "LOCAL VOLUMES", RestartCount: "RESTARTS", Health: "HEALTH", rowLabels: rowLabels{header: true},
}

// psRow is one box as ps's templates see it: Docker's field names.
type psRow struct {
	ID           string `json:"ID"`
	Image        string `json:"Image"`
	Command      string `json:"Command"`
	CreatedAt    string `json:"CreatedAt"`
	RunningFor   string `json:"RunningFor"`
	Ports        string `json:"Ports"`
	State        string `json:"State"`
	Status       string `json:"Status"`
	Size         string `json:"Size"`
	Names        string `json:"Names"`
	Labels       string `json:"Labels"`
	Mounts       string `json:"Mounts"`
	Networks     string `json:"Networks"`
	LocalVolumes string `json:"LocalVolumes"`
	RestartCount string `json:"RestartCount"`
	Health       string `json:"Health"`
	rowLabels
}

func psVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("ps", "ps [OPTIONS]", "List boxes")
	all := fs.BoolP("all", "a", false, "Show all boxes (default shows just running)")
	quiet := fs.BoolP("quiet", "q", false, "Only display box IDs")
	last := fs.IntP("last", "n", -1, "Show n last created boxes (includes all states)")
	latest := fs.BoolP("latest", "l", false, "Show the latest created box (includes all states)")
	size := fs.BoolP("size", "s", false, "Display total file sizes")
	noTrunc := fs.Bool("no-trunc", false, "Don't truncate output")
	filters := fs.StringArrayP("filter", "f", nil, "Filter output based on conditions provided")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("'a3s-box ps' accepts no arguments.\nSee 'a3s-box ps --help'.")
	}
	def := psTable
	if *size {
		def += "\t{{.Size}}"
	}
	l, err := newListLister(c.stdout, *format, def, "{{.ID}}", psHeader, *quiet)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	boxes, err := eng.Boxes()
	if err != nil {
		return err
	}
	f, err := newBoxFilter(*filters, boxes)
	if err != nil {
		return err
	}
	nets, err := eng.NetworkIndex()
	if err != nil {
		return err
	}
	f.nets = nets
	if *latest {
		*last = 1
	}
	now := time.Now()
	var rows []any
	for _, b := range boxes {
		if *last >= 0 && len(rows) >= *last {
			break
		}
		// A box whose record cannot be read may be running: always shown.
		shown := b.State.Running() || b.State.Status == spec.StatusRestarting || b.State.Status == spec.StatusUnknown
		if !*all && *last < 0 && !shown && !f.has("status") && !f.has("exited") {
			continue
		}
		if !f.match(b) {
			continue
		}
		row := newPSRow(eng, b, now, *noTrunc, *size)
		row.Networks = networkNames(nets[b.ID])
		rows = append(rows, row)
	}
	return l.print(rows)
}

// psCommand is Docker's COMMAND before the CLI quotes it: the program,
// then its arguments, each one holding a space put in single quotes, as
// moby's daemon spells a container's command in its listing.
func psCommand(args []string) string {
	if len(args) == 0 {
		return ""
	}
	out := []string{args[0]}
	for _, a := range args[1:] {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

func newPSRow(eng *engine.Engine, b *runtime.Box, now time.Time, noTrunc, size bool) psRow {
	cmd := strconv.Quote(psCommand(b.Main.Args))
	id := b.ID
	if !noTrunc {
		id = id[:12]
		cmd = strconv.Quote(truncate(psCommand(b.Main.Args), 20))
	}
	r := psRow{
		ID: id, Image: b.ImageRef, Command: cmd, Names: b.Name,
		CreatedAt:    b.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor:   humanDuration(now.Sub(b.Created)) + " ago",
		State:        b.State.Status,
		Status:       boxStatus(b.State, now),
		RestartCount: strconv.Itoa(b.State.RestartCount),
		Labels:       joinLabels(spec.UserLabels(b.Spec.Labels)),
		rowLabels:    rowLabels{labels: spec.UserLabels(b.Spec.Labels)},
		Health:       healthStatus(b.State),
		Ports:        formatPorts(boxBindings(b)),
	}
	r.Mounts, r.LocalVolumes = psMounts(b, noTrunc)
	if size {
		rw, virt := eng.BoxSize(b)
		r.Size = fmt.Sprintf("%s (virtual %s)", humanSize(rw), humanSize(virt))
	}
	return r
}

// boxStatus is Docker's STATUS column.
func boxStatus(st *runtime.BoxState, now time.Time) string {
	switch st.Status {
	case spec.StatusRunning, spec.StatusPaused:
		s := "Up " + humanDuration(now.Sub(st.StartedAt))
		if st.Status == spec.StatusPaused {
			return s + " (Paused)"
		}
		switch h := healthStatus(st); h {
		case spec.HealthStarting:
			s += " (health: starting)"
		case "":
		default:
			s += " (" + h + ")"
		}
		return s
	case spec.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	case spec.StatusExited:
		if st.FinishedAt.IsZero() {
			return "Created"
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	case spec.StatusRemoving:
		return "Removal In Progress"
	case spec.StatusDead:
		return "Dead"
	case spec.StatusUnknown:
		return "Unknown"
	}
	return "Created"
}

func healthStatus(st *runtime.BoxState) string {
	if st.Health == nil || !st.Running() {
		return ""
	}
	return st.Health.Status
}

func joinLabels(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// boxFilter is ps's --filter: the same key ORs (but label ANDs),
// different keys AND.
type boxFilter struct {
	by     map[string][]string
	before time.Time
	since  time.Time
	nets   map[string][]network.Membership // by box ID
}

var boxFilterKeys = map[string]bool{
	"status": true, "name": true, "id": true, "label": true, "exited": true, "health": true,
	"ancestor": true, "network": true, "volume": true, "before": true, "since": true,
}

var boxStatuses = map[string]bool{"created": true, "restarting": true, "running": true, "removing": true, "paused": true, "exited": true, "dead": true}

func newBoxFilter(args []string, boxes []*runtime.Box) (*boxFilter, error) {
	f := &boxFilter{by: map[string][]string{}}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		if !boxFilterKeys[k] {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		switch k {
		case "status":
			if !boxStatuses[v] {
				return nil, fmt.Errorf("invalid filter 'status=%s': want created, restarting, running, removing, paused, exited or dead", v)
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'exited=%s': want an exit code", v)
			}
		case "health":
			if v != "starting" && v != "healthy" && v != "unhealthy" && v != "none" {
				return nil, fmt.Errorf("invalid filter 'health=%s': want starting, healthy, unhealthy or none", v)
			}
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %v", v, err)
			}
		case "before", "since":
			var ref *runtime.Box
			for _, b := range boxes {
				if b.ID == v || b.Name == v || strings.HasPrefix(b.ID, v) {
					ref = b
					break
				}
			}
			if ref == nil {
				return nil, fmt.Errorf("No such box: %s", v)
			}
			if k == "before" {
				f.before = ref.Created
			} else {
				f.since = ref.Created
			}
		}
		f.by[k] = append(f.by[k], v)
	}
	return f, nil
}

func (f *boxFilter) has(k string) bool { return len(f.by[k]) > 0 }

func (f *boxFilter) match(b *runtime.Box) bool { return matchFilters(f.by, b, f.matchOne) }

func (f *boxFilter) matchOne(k, v string, b *runtime.Box) bool {
	switch k {
	case "status":
		return b.State.Status == v
	case "name":
		re, _ := regexp.Compile(v)
		return re.MatchString(b.Name)
	case "id":
		return strings.HasPrefix(b.ID, v)
	case "label":
		return hasLabel(b.Spec.Labels, v)
	case "exited":
		return b.State.Status == spec.StatusExited && !b.State.FinishedAt.IsZero() && strconv.Itoa(b.State.ExitCode) == v
	case "health":
		h := healthStatus(b.State)
		if v == "none" {
			return h == ""
		}
		return h == v
	case "ancestor":
		return b.ImageRef == v || b.Spec.Image == v || strings.HasPrefix(strings.TrimPrefix(b.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:")) || b.ImageID == v
	case "volume":
		return mountsMatch(b, v)
	case "before":
		return b.Created.Before(f.before)
	case "since":
		return b.Created.After(f.since)
	case "network":
		for _, m := range f.nets[b.ID] {
			if m.Network.Name == v || m.Network.ID == v {
				return true
			}
		}
		return false
	}
	return false
}

// networkNames is ps's NETWORKS column: the box's networks by slot.
func networkNames(ms []network.Membership) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Network.Name
	}
	return strings.Join(names, ",")
}
