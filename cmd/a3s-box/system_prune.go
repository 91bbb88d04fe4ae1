package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// pruneFilters are prune's --filter values: until=TIME (made before),
// label=K[=V] (every one must match) and label!=K[=V] (none may).
type pruneFilters struct {
	specs     []string // as given, for the prompt and the image store
	until     time.Time
	labels    []string
	notLabels []string
}

func parsePruneFilters(specs []string) (*pruneFilters, error) {
	f := &pruneFilters{specs: specs}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", s)
		}
		switch k {
		case "until":
			t, err := parseUntil(v)
			if err != nil {
				return nil, err
			}
			f.until = t
		case "label":
			f.labels = append(f.labels, v)
		case "label!":
			f.notLabels = append(f.notLabels, v)
		default:
			return nil, fmt.Errorf("invalid filter '%s': prune takes until, label and label!", k)
		}
	}
	return f, nil
}

// match reports whether an object with these labels, made at created,
// passes the filters.
func (f *pruneFilters) match(labels map[string]string, created time.Time) bool {
	if !f.until.IsZero() && !created.Before(f.until) {
		return false
	}
	has := func(kv string) bool {
		k, v, withValue := strings.Cut(kv, "=")
		got, ok := labels[k]
		return ok && (!withValue || got == v)
	}
	for _, l := range f.labels {
		if !has(l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if has(l) {
			return false
		}
	}
	return true
}

// prompt is Docker's summary of the filters for the confirmation.
func (f *pruneFilters) prompt() []string {
	out := append([]string(nil), f.specs...)
	sort.Strings(out)
	return out
}

func systemPruneVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("system prune", "system prune [OPTIONS]", "Remove unused data")
	all := fs.BoolP("all", "a", false, "Remove all unused images not just dangling ones")
	force := fs.BoolP("force", "f", false, "Do not prompt for confirmation")
	volumes := fs.Bool("volumes", false, "Prune anonymous volumes")
	filters := fs.StringArray("filter", nil, "Provide filter values (e.g. \"label=<key>=<value>\")")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("'a3s-box system prune' accepts no arguments.\nSee 'a3s-box system prune --help'.")
	}
	f, err := parsePruneFilters(*filters)
	if err != nil {
		return err
	}
	if *volumes && !f.until.IsZero() {
		return errors.New(`the "until" filter is not supported with "--volumes"`)
	}
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	imageKeep, err := pruneFilter(ctx, rt.Images, f.specs)
	if err != nil {
		return err
	}
	if !*force {
		fmt.Fprint(c.stdout, pruneWarning(*all, *volumes, f.prompt())+" [y/N] ")
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(c.stdout)
			return errors.New("system prune has been cancelled")
		}
	}
	var freed int64
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintln(c.stdout, title)
		for _, l := range lines {
			fmt.Fprintln(c.stdout, l)
		}
		fmt.Fprintln(c.stdout)
	}

	// Stopped boxes first, so that what only they used is unused next.
	ids, n, err := pruneBoxes(ctx, rt, f)
	freed += n
	section("Deleted Containers:", ids)
	if err != nil {
		return err
	}
	nets, err := pruneNetworks(ctx, c, f)
	section("Deleted Networks:", nets)
	if err != nil {
		return err
	}
	if *volumes {
		// With -a, unused named volumes go too, so that `system prune -a
		// --volumes` leaves only what boxes use (Docker keeps named ones).
		vols, n, err := pruneVolumes(ctx, c, *all, f)
		freed += n
		section("Deleted Volumes:", vols)
		if err != nil {
			return err
		}
	}
	rm, err := rt.Images.Prune(ctx, *all, imageKeep)
	if err != nil {
		return err
	}
	var lines []string
	for _, u := range rm.Untagged {
		lines = append(lines, "untagged: "+u)
	}
	for _, d := range rm.Deleted {
		lines = append(lines, "deleted: "+d.String())
	}
	section("Deleted Images:", lines)
	freed += rm.Freed
	// There is no builder, so no build cache to prune.
	fmt.Fprintf(c.stdout, "Total reclaimed space: %s\n", dockerSize(freed))
	return nil
}

// pruneWarning is Docker's confirmation text for system prune.
func pruneWarning(all, volumes bool, filters []string) string {
	warnings := []string{"all stopped containers", "all networks not used by at least one container"}
	if volumes {
		warnings = append(warnings, "all anonymous volumes not used by at least one container")
	}
	if all {
		warnings = append(warnings, "all images without at least one container associated to them", "all build cache")
	} else {
		warnings = append(warnings, "all dangling images", "unused build cache")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:")
	for _, w := range warnings {
		b.WriteString("\n  - " + w)
	}
	b.WriteString("\n")
	if len(filters) > 0 {
		b.WriteString("\n  Items to be pruned will be filtered with:")
		for _, f := range filters {
			b.WriteString("\n  - " + f)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nAre you sure you want to continue?")
	return b.String()
}

// pruneBoxes removes the boxes that are not running (created, exited,
// dead) that f selects, and takes them out of the implicit stack, as rm
// does; it returns their IDs and the disk their writable disks took.
func pruneBoxes(ctx context.Context, rt *runtime.Runtime, f *pruneFilters) ([]string, int64, error) {
	boxes, err := rt.Boxes()
	if err != nil {
		return nil, 0, err
	}
	store := reconcile.NewStore(rt.Root())
	var ids []string
	var freed int64
	for _, b := range boxes {
		if boxActive(b) || b.State.Status == spec.StatusRemoving || !f.match(b.Spec.Labels, b.Created) {
			continue
		}
		rw, _ := rt.BoxSize(b)
		if err := rt.Remove(ctx, b.ID, false); err != nil {
			if errors.Is(err, runtime.ErrRunning) || errors.Is(err, runtime.ErrNoSuchBox) {
				continue // started or removed meanwhile
			}
			return ids, freed, fmt.Errorf("remove box %s: %w", b.Name, err)
		}
		if err := reconcile.Forget(ctx, store, b.Spec.Labels); err != nil {
			return ids, freed, err
		}
		ids = append(ids, b.ID)
		freed += rw
	}
	return ids, freed, nil
}
