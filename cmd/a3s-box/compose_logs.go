package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// composeLogs is `compose logs`: the output of the project's service
// boxes, each line prefixed with the box's name as compose does
// ("web-1  | "), interleaved by time.
func composeLogs(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("logs", "logs [OPTIONS] [SERVICE...]", "View output from boxes")
	follow := fs.BoolP("follow", "f", false, "Follow log output")
	tail := fs.StringP("tail", "n", "all", "Number of lines to show from the end of the logs for each box")
	since := fs.String("since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	until := fs.String("until", "", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	stamps := fs.BoolP("timestamps", "t", false, "Show timestamps")
	noColor := fs.Bool("no-color", false, "Produce monochrome output")
	noPrefix := fs.Bool("no-log-prefix", false, "Don't print prefix in logs")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	window, err := logWindow(*tail, *since, *until, *follow)
	if err != nil {
		return err
	}
	o := logOptions{LogOptions: window, stamps: *stamps, noColor: *noColor, noPrefix: *noPrefix}
	v, err := p.boxes(ctx, fs.Args(), false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return streamLogs(ctx, p.c, v.eng, v.name, v.boxes, o)
}

// logOptions are compose's log flags: the lines of each box to show, and
// how.
type logOptions struct {
	runtime.LogOptions
	stamps, noColor, noPrefix bool
}

// logLine is one line of one box's output.
type logLine struct {
	box string // the box's ID
	*runtime.LogEntry
}

// logPrinter writes the lines of several boxes with compose's prefixes:
// the box's name without the project's, padded to the longest name, then
// " | ", in a colour per service when stdout is a terminal.
type logPrinter struct {
	stdout, stderr io.Writer
	prefix         map[string]string // box ID -> prefix
	stamps         bool
}

// composeColors are compose's colours for services, in its order.
var composeColors = []string{"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"}

func newLogPrinter(c *cli, project string, boxes []projectBox, o logOptions) *logPrinter {
	p := &logPrinter{stdout: c.stdout, stderr: c.stderr, prefix: map[string]string{}, stamps: o.stamps}
	if o.noPrefix {
		return p
	}
	width := 0
	var services []string
	for _, b := range boxes {
		width = max(width, len(b.shortName(project)))
		if !slices.Contains(services, b.service) {
			services = append(services, b.service)
		}
	}
	sort.Strings(services)
	color := !o.noColor && isTerminal(c.stdout)
	for _, b := range boxes {
		prefix := fmt.Sprintf("%-*s | ", width+1, b.shortName(project))
		if color {
			code := composeColors[slices.Index(services, b.service)%len(composeColors)]
			prefix = "\x1b[" + code + "m" + prefix + "\x1b[0m"
		}
		p.prefix[b.ID] = prefix
	}
	return p
}

func (p *logPrinter) print(l logLine) {
	w := p.stdout
	if l.Stream == "stderr" {
		w = p.stderr
	}
	line := p.prefix[l.box]
	if p.stamps {
		line += l.Time.UTC().Format(time.RFC3339Nano) + " "
	}
	line += l.Log
	if line == "" || line[len(line)-1] != '\n' {
		line += "\n"
	}
	_, _ = io.WriteString(w, line)
}

// logBatchIdle is how long the follower waits for more lines before it
// prints what it has, sorted by time: the backlog of every box arrives in
// one burst and comes out interleaved, and a live line waits no longer.
const logBatchIdle = 50 * time.Millisecond

// streamLogs prints the logs of boxes, interleaved by time; with follow
// it goes on until every box has stopped or ctx ends.
func streamLogs(ctx context.Context, c *cli, eng *engine.Engine, project string, boxes []projectBox, o logOptions) error {
	printer := newLogPrinter(c, project, boxes, o)
	lines := make(chan logLine, 256)
	errs := make(chan error, len(boxes))
	var wg sync.WaitGroup
	for _, b := range boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			running := func() bool {
				cur, err := eng.Box(b.ID)
				return err == nil && (cur.State.Running() || cur.State.Status == spec.StatusRestarting)
			}
			err := eng.Logs(ctx, b.Box, o.LogOptions, running,
				func(e *runtime.LogEntry) error {
					select {
					case lines <- logLine{b.ID, e}:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
			if err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("logs of %s: %w", b.Name, err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(lines)
	}()
	var batch []logLine
	flush := func() {
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].Time.Before(batch[j].Time) })
		for _, l := range batch {
			printer.print(l)
		}
		batch = batch[:0]
	}
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				flush()
				select {
				case err := <-errs:
					return err
				default:
					return nil
				}
			}
			batch = append(batch, l)
			// Without follow everything is read before anything is
			// printed, so the whole output is in time order.
			if o.Follow {
				idle.Reset(logBatchIdle)
			}
		case <-idle.C:
			flush()
		}
	}
}
