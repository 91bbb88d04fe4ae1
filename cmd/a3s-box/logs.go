package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "logs", summary: "Fetch the logs of a box", errCode: 1, run: logsVerb})
	register(&verb{name: "events", summary: "Get real time events from a3s-box", errCode: 1, run: eventsVerb})
}

func logsVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("logs", "logs [OPTIONS] BOX", "Fetch the logs of a box")
	follow := fs.BoolP("follow", "f", false, "Follow log output")
	tail := fs.StringP("tail", "n", "all", "Number of lines to show from the end of the logs")
	since := fs.String("since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	until := fs.String("until", "", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	stamps := fs.BoolP("timestamps", "t", false, "Show timestamps")
	details := fs.Bool("details", false, "Show extra details provided to logs")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("'a3s-box logs' requires exactly 1 argument.\nSee 'a3s-box logs --help'.")
	}
	o, err := logWindow(*tail, *since, *until, *follow)
	if err != nil {
		return err
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	running := func() bool {
		cur, err := eng.Box(b.ID)
		return err == nil && (cur.State.Running() || cur.State.Status == spec.StatusRestarting)
	}
	return eng.Logs(ctx, b, o, running, func(e *runtime.LogEntry) error {
		var w io.Writer = c.stdout
		if e.Stream == "stderr" {
			w = c.stderr
		}
		var prefix string
		if *stamps {
			prefix = e.Time.UTC().Format(time.RFC3339Nano) + " "
		}
		if *details {
			prefix += " "
		}
		_, err := io.WriteString(w, prefix+e.Log)
		return err
	})
}

// logWindow reads logs' --tail, --since and --until (and -f).
func logWindow(tail, since, until string, follow bool) (runtime.LogOptions, error) {
	o := runtime.LogOptions{Tail: -1, Follow: follow}
	if tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil {
			return o, fmt.Errorf("invalid value for --tail %q: want a number of lines or \"all\"", tail)
		}
		if n >= 0 {
			o.Tail = n
		}
	}
	now := time.Now()
	var err error
	if o.Since, err = parseTime(since, now); err != nil {
		return o, fmt.Errorf("invalid --since: %v", err)
	}
	if o.Until, err = parseTime(until, now); err != nil {
		return o, fmt.Errorf("invalid --until: %v", err)
	}
	return o, nil
}

func eventsVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("events", "events [OPTIONS]", "Get real time events from a3s-box")
	since := fs.String("since", "", "Show all events created since timestamp")
	until := fs.String("until", "", "Stream events until this timestamp")
	filters := fs.StringArrayP("filter", "f", nil, "Filter output based on conditions provided")
	format := fs.String("format", "", "Format output using a custom template: 'json' or 'TEMPLATE'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	now := time.Now()
	s, err := parseTime(*since, now)
	if err != nil {
		return fmt.Errorf("invalid --since: %v", err)
	}
	u, err := parseTime(*until, now)
	if err != nil {
		return fmt.Errorf("invalid --until: %v", err)
	}
	if *since == "" {
		s = now // without --since, only events from now on
	}
	match, err := eventFilter(*filters)
	if err != nil {
		return err
	}
	var l *lister
	if *format != "" {
		if l, err = newLister(c.stdout, *format, "", nil); err != nil {
			return err
		}
		l.table = false
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	follow := *until == "" || u.After(now)
	return eng.Events(ctx, s, u, follow, func(e *runtime.Event) error {
		if !match(e) {
			return nil
		}
		if l != nil {
			return l.print([]any{e})
		}
		fmt.Fprintln(c.stdout, eventLine(e))
		return nil
	})
}

// eventLine is Docker's text form of an event.
func eventLine(e *runtime.Event) string {
	keys := make([]string, 0, len(e.Actor.Attributes))
	for k := range e.Actor.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]string, len(keys))
	for i, k := range keys {
		attrs[i] = k + "=" + e.Actor.Attributes[k]
	}
	return fmt.Sprintf("%s %s %s %s (%s)", e.When().UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
		e.Type, e.Action, e.Actor.ID, strings.Join(attrs, ", "))
}

var eventFilterKeys = map[string]bool{"type": true, "event": true, "container": true, "image": true, "label": true, "volume": true, "network": true}

// eventFilter is events' --filter: the same key ORs, different keys AND.
func eventFilter(args []string) (func(*runtime.Event) bool, error) {
	by := map[string][]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		if !eventFilterKeys[k] {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		by[k] = append(by[k], v)
	}
	one := func(k, v string, e *runtime.Event) bool {
		a := e.Actor.Attributes
		switch k {
		case "type":
			return e.Type == v || (v == "box" && e.Type == "container")
		case "event":
			return e.Action == v || strings.HasPrefix(e.Action, v+":")
		case "container":
			return e.Type == "container" && (e.Actor.ID == v || a["name"] == v || (len(v) >= 1 && strings.HasPrefix(e.Actor.ID, v)))
		case "volume":
			return e.Type == "volume" && e.Actor.ID == v
		case "image":
			if e.Type == "image" {
				return e.Actor.ID == v || a["name"] == v
			}
			return a["image"] == v || e.From == v
		case "network":
			return e.Type == "network" && (e.Actor.ID == v || a["name"] == v || strings.HasPrefix(e.Actor.ID, v))
		case "label":
			return hasLabel(a, v)
		}
		return false
	}
	return func(e *runtime.Event) bool { return matchFilters(by, e, one) }, nil
}
