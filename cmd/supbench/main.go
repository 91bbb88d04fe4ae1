// Command supbench measures what a box's supervisor costs while its box
// idles: its resident memory and CPU use over a window, beside the VMM's
// own resident memory, for a few boxes at once; then the round trip of
// `a3s-box exec BOX true` on a warm box.
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
)

func main() {
	dir := flag.String("dir", "out", "directory holding a3s-box and the guest files")
	boxes := flag.Int("boxes", 3, "boxes to run at once")
	idle := flag.Duration("idle", time.Minute, "window over which idle CPU use is measured")
	flag.Parse()
	benchrig.Main("supbench", *dir, func(ctx context.Context, rig *benchrig.Rig) error { return bench(ctx, rig, *boxes, *idle) })
}

func bench(ctx context.Context, rig *benchrig.Rig, n int, idle time.Duration) error {
	ref, err := rig.ServeBusybox()
	if err != nil {
		return err
	}
	var ids []string
	for range n {
		id, err := rig.Run(ctx, "run", "-d", ref, "sleep", "1000000")
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	time.Sleep(3 * time.Second) // let boots settle
	var ps []benchrig.PIDs
	for _, id := range ids {
		p, err := rig.PIDs(id)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	before := make([]float64, len(ps))
	for i, p := range ps {
		before[i] = benchrig.CPUSeconds(p.Supervisor)
	}
	fmt.Printf("measuring %d idle boxes for %s...\n", n, idle)
	time.Sleep(idle)
	var supRSS, supPSS, supAnon, vmmRSS, supCPU []float64
	for i, p := range ps {
		supRSS = append(supRSS, benchrig.RSSMiB(p.Supervisor))
		supPSS = append(supPSS, benchrig.ProcKiB(p.Supervisor, "smaps_rollup", "Pss:")/1024)
		supAnon = append(supAnon, benchrig.ProcKiB(p.Supervisor, "status", "RssAnon:")/1024)
		vmmRSS = append(vmmRSS, benchrig.RSSMiB(p.VMM))
		used := benchrig.CPUSeconds(p.Supervisor) - before[i]
		supCPU = append(supCPU, 100*used/idle.Seconds())
	}
	median := benchrig.Median[[]float64]
	fmt.Printf("supervisor RSS per box   median %6.1f MiB  (aim < 15 MiB)\n", median(supRSS))
	fmt.Printf("  of which its own (anon) median %6.1f MiB; the rest is the a3s-box binary's pages, shared by every supervisor\n", median(supAnon))
	fmt.Printf("supervisor PSS per box   median %6.1f MiB  (its share of the shared pages with %d boxes)\n", median(supPSS), n)
	fmt.Printf("supervisor idle CPU      median %6.3f %%    (aim < 0.1 %%)\n", median(supCPU))
	fmt.Printf("VMM (QEMU) RSS per box   median %6.1f MiB\n", median(vmmRSS))
	fmt.Printf("supervisor/VMM RSS ratio        %6.3f\n", median(supRSS)/median(vmmRSS))

	// exec round trip on a warm box: a3s-box process start, supervisor
	// relay, guest process start and exit.
	var lat benchrig.Samples
	for range 20 {
		if err := lat.Time(func() error { _, err := rig.Run(ctx, "exec", ids[0], "true"); return err }); err != nil {
			return err
		}
	}
	fmt.Printf("exec BOX true round trip median %6.1f ms   (aim < 50 ms, 20 runs)\n", benchrig.Ms(lat.Median()))
	return nil
}
