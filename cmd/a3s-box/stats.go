package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "stats", summary: "Display a live stream of boxes' resource usage", errCode: 1, run: statsVerb})
}

// statsInterval is how often stats samples, as Docker's daemon does.
const statsInterval = time.Second

const statsTable = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// statsRow is one box as stats's templates see it: Docker's field names,
// in the order Docker's JSON has them.
type statsRow struct {
	BlockIO   string `json:"BlockIO"`
	CPUPerc   string `json:"CPUPerc"`
	Container string `json:"Container"`
	ID        string `json:"ID"`
	MemPerc   string `json:"MemPerc"`
	MemUsage  string `json:"MemUsage"`
	Name      string `json:"Name"`
	NetIO     string `json:"NetIO"`
	PIDs      string `json:"PIDs"`
}

var statsHeader = statsRow{
	BlockIO: "BLOCK I/O", CPUPerc: "CPU %", Container: "CONTAINER", ID: "CONTAINER ID", MemPerc: "MEM %",
	MemUsage: "MEM USAGE / LIMIT", Name: "NAME", NetIO: "NET I/O", PIDs: "PIDS",
}

// statsSample is what one round learnt of one box.
type statsSample struct {
	box   *runtime.Box
	ref   string // .Container: the name the user gave, or the short ID
	state sampleState
	cpu   float64        // percent of one host CPU
	usage *runtime.Usage // for sampled
}

type sampleState int

const (
	sampleStopped sampleState = iota // zeros, as Docker shows a stopped container
	sampleSampled                    // everything known
	sampleCPUOnly                    // paused, and the guest did not answer
	sampleInvalid                    // reading failed: "--"
)

func statsVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("stats", "stats [OPTIONS] [BOX...]", "Display a live stream of boxes' resource usage")
	all := fs.BoolP("all", "a", false, "Show all boxes (default shows just running)")
	noStream := fs.Bool("no-stream", false, "Disable streaming stats and only pull the first result")
	noTrunc := fs.Bool("no-trunc", false, "Do not truncate output")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	var out bytes.Buffer
	l, err := newLister(&out, *format, statsTable, statsHeader)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	// Named boxes are resolved once; an unknown one is an error before
	// anything is shown.
	named, failed := c.lookupBoxes(eng, fs.Args())
	if failed {
		return errPrinted
	}
	list := func() []statsSample {
		var out []statsSample
		if len(named) > 0 {
			for i, b := range named {
				if fresh, err := eng.Box(b.ID); err == nil {
					b = fresh
				}
				out = append(out, statsSample{box: b, ref: fs.Arg(i)})
			}
			return out
		}
		boxes, _ := eng.Boxes()
		for _, b := range boxes {
			if *all || b.State.Running() {
				out = append(out, statsSample{box: b, ref: b.ID[:12]})
			}
		}
		return out
	}
	cpu := cpuMeter{eng: eng, last: map[string]cpuPoint{}}
	// A first reading of every VMM's CPU time, so that even one sample
	// shows a CPU % over a whole interval.
	if first := list(); cpu.start(first) {
		if err := sleepCtx(ctx, statsInterval); err != nil {
			return err
		}
	}
	term := isTerminal(c.stdout) && !*noStream
	if term {
		fmt.Fprint(c.stdout, "\033[2J")
	}
	for {
		began := time.Now()
		samples := list()
		collectStats(ctx, eng, &cpu, samples)
		rows := make([]any, len(samples))
		for i := range samples {
			rows[i] = newStatsRow(&samples[i], *noTrunc)
		}
		out.Reset()
		if err := l.print(rows); err != nil {
			return err
		}
		if term {
			// Home, each line cleared to its end, the rest of the screen
			// cleared: a redraw without flicker.
			text := strings.ReplaceAll(out.String(), "\n", "\033[K\n")
			fmt.Fprint(c.stdout, "\033[H"+text+"\033[J")
		} else {
			c.stdout.Write(out.Bytes())
		}
		if *noStream {
			return nil
		}
		if err := sleepCtx(ctx, statsInterval-time.Since(began)); err != nil {
			return err
		}
	}
}

// collectStats samples every box at once: each guest answers on its own.
func collectStats(ctx context.Context, eng *engine.Engine, cpu *cpuMeter, samples []statsSample) {
	var wg sync.WaitGroup
	for i := range samples {
		s := &samples[i]
		switch st := s.box.State.Status; st {
		case spec.StatusRunning, spec.StatusPaused:
			// A paused box's guest answers too, its VM let run for the
			// reading while its processes stay frozen, as Docker shows
			// a paused container's memory.
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := eng.Usage(ctx, s.box)
				switch {
				case err == nil:
					s.state, s.usage = sampleSampled, u
				case st == spec.StatusPaused:
					s.state = sampleCPUOnly
				default:
					s.state = sampleInvalid
				}
			}()
		}
	}
	wg.Wait()
	for i := range samples {
		s := &samples[i]
		if s.state == sampleSampled || s.state == sampleCPUOnly {
			p, ok := cpu.percent(s.box)
			if !ok {
				s.state = sampleInvalid
			}
			s.cpu = p
			// A paused box's processes use none: what its VM spent was
			// this reading's, a3s-box's own.
			if s.box.State.Status == spec.StatusPaused {
				s.cpu = 0
			}
		}
	}
}

// cpuPoint is a VMM's CPU time at one moment.
type cpuPoint struct {
	vmm  int // the VMM's PID: a restarted box starts over
	cpu  time.Duration
	when time.Time
}

// cpuMeter turns the VMMs' CPU times into Docker's CPU %: CPU time used
// over the wall time between two readings, in percent of one host CPU,
// so a box busy on two CPUs shows 200%.
type cpuMeter struct {
	eng  *engine.Engine
	last map[string]cpuPoint
}

// start takes a first reading of every running box; it reports whether
// there was any.
func (m *cpuMeter) start(samples []statsSample) bool {
	some := false
	for _, s := range samples {
		if s.box.State.Running() {
			_, ok := m.percent(s.box)
			some = some || ok
		}
	}
	return some
}

// percent reads b's VMM's CPU time and gives its use since the last
// reading (0 for the first).
func (m *cpuMeter) percent(b *runtime.Box) (float64, bool) {
	t, err := m.eng.CPUTime(b)
	if err != nil {
		return 0, false
	}
	now := time.Now()
	p := cpuPoint{vmm: b.State.VMMPID, cpu: t, when: now}
	prev, ok := m.last[b.ID]
	m.last[b.ID] = p
	if !ok || prev.vmm != p.vmm || !now.After(prev.when) {
		return 0, true
	}
	return cpuPercent(t-prev.cpu, now.Sub(prev.when)), true
}

func cpuPercent(used, wall time.Duration) float64 {
	if wall <= 0 || used < 0 {
		return 0
	}
	return float64(used) / float64(wall) * 100
}

// newStatsRow renders one sample with Docker's units: binary for memory,
// decimal for I/O.
func newStatsRow(s *statsSample, noTrunc bool) statsRow {
	id := s.box.ID
	if !noTrunc {
		id = id[:12]
	}
	r := statsRow{Container: s.ref, ID: id, Name: s.box.Name}
	switch s.state {
	case sampleStopped:
		r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs = "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"
	case sampleInvalid:
		r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs = "--", "-- / --", "--", "--", "--", "--"
	case sampleCPUOnly:
		r.CPUPerc = fmt.Sprintf("%.2f%%", s.cpu)
		r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs = "-- / --", "--", "--", "--", "--"
	case sampleSampled:
		u := s.usage
		used := u.Memory.Used()
		perc := 0.0
		if u.Limit > 0 {
			perc = float64(used) / float64(u.Limit) * 100
		}
		r.CPUPerc = fmt.Sprintf("%.2f%%", s.cpu)
		r.MemUsage = binarySize(int64(used)) + " / " + binarySize(int64(u.Limit))
		r.MemPerc = fmt.Sprintf("%.2f%%", perc)
		r.NetIO = humanSize(int64(u.NetRx)) + " / " + humanSize(int64(u.NetTx))
		r.BlockIO = humanSize(int64(u.BlockRead)) + " / " + humanSize(int64(u.BlockWrite))
		r.PIDs = fmt.Sprint(u.PIDs)
	}
	return r
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
