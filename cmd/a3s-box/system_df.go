package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/spec"
)

// systemUsage is the disk the machine's images, boxes and volumes take,
// as `system df` reports it. Sizes are allocated blocks, what du counts:
// a box's sparse 16 GiB disk counts what it holds, and a blob that several
// images share counts once.
type systemUsage struct {
	images  *image.DiskUsage
	boxes   []boxUsage
	volumes []volumeUsage
	// host is what a3s-box made on the host outside the root: bridges,
	// taps and firewall chains (-v only).
	host []network.HostObject
}

// boxUsage is a box and the disk its writable disk takes.
type boxUsage struct {
	box  *runtime.Box
	size int64
}

func (c *cli) diskUsage(ctx context.Context, eng *engine.Engine) (*systemUsage, error) {
	u := &systemUsage{}
	var err error
	if u.images, err = eng.Images().DiskUsage(ctx); err != nil {
		return nil, err
	}
	boxes, err := eng.Boxes()
	if err != nil {
		return nil, err
	}
	for _, b := range boxes {
		rw, _ := eng.BoxSize(b)
		u.boxes = append(u.boxes, boxUsage{b, rw})
	}
	if u.volumes, err = listVolumeUsage(ctx, c); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *systemUsage) boxesSize() int64 {
	var n int64
	for _, b := range u.boxes {
		n += b.size
	}
	return n
}

func (u *systemUsage) volumesSize() int64 {
	var n int64
	for _, v := range u.volumes {
		n += v.Size
	}
	return n
}

// dfRow is one line of `system df`; its fields are Docker's, in the
// order Docker's JSON has them.
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

const dfTable = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfHeader = dfRow{Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE"}

// rows are the TYPE rows under Docker's names: Images, Containers (the
// boxes), Local Volumes and Build Cache (always empty: a3s-box builds
// nothing), so that scripts written against `docker system df` work.
func (u *systemUsage) rows() []dfRow {
	row := func(typ string, total, active int, size, reclaimable int64) dfRow {
		r := dfRow{Type: typ, TotalCount: strconv.Itoa(total), Active: strconv.Itoa(active), Size: dockerSize(size),
			Reclaimable: dockerSize(reclaimable)}
		if size > 0 {
			r.Reclaimable += fmt.Sprintf(" (%d%%)", reclaimable*100/size)
		}
		return r
	}
	active := 0
	for _, i := range u.images.Images {
		if i.Boxes > 0 {
			active++
		}
	}
	images := row("Images", len(u.images.Images), active, u.images.Total, u.images.Reclaimable)
	active = 0
	var stopped int64
	for _, b := range u.boxes {
		if engine.Active(b.box) {
			active++
		} else {
			stopped += b.size
		}
	}
	boxes := row("Containers", len(u.boxes), active, u.boxesSize(), stopped)
	active = 0
	var unused int64
	for _, v := range u.volumes {
		if v.Links > 0 {
			active++
		} else {
			unused += v.Size
		}
	}
	volumes := row("Local Volumes", len(u.volumes), active, u.volumesSize(), unused)
	return []dfRow{images, boxes, volumes, row("Build Cache", 0, 0, 0, 0)}
}

func systemDFVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("system df", "system df [OPTIONS]", "Show a3s-box disk usage")
	verbose := fs.BoolP("verbose", "v", false, "Show detailed information on space usage")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("'a3s-box system df' accepts no arguments.\nSee 'a3s-box system df --help'.")
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	u, err := c.diskUsage(ctx, eng)
	if err != nil {
		return err
	}
	if *verbose {
		if u.host, err = eng.HostObjects(); err != nil {
			return err
		}
	}
	return u.write(c.stdout, *format, *verbose, time.Now())
}

// write renders u as `system df` does.
func (u *systemUsage) write(w io.Writer, format string, verbose bool, now time.Time) error {
	if !verbose {
		l, err := newLister(w, format, dfTable, dfHeader)
		if err != nil {
			return err
		}
		var rows []any
		for _, r := range u.rows() {
			rows = append(rows, r)
		}
		return l.print(rows)
	}
	d := u.detail(now)
	if format != "" && format != "table" {
		if format == "json" {
			return json.NewEncoder(w).Encode(d)
		}
		t, err := parseTemplate(strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format))
		if err != nil {
			return err
		}
		if err := t.Execute(w, d); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		_, err = fmt.Fprintln(w)
		return err
	}
	fmt.Fprint(w, "Images space usage:\n\n")
	images := &table{headers: imageHeaders, rows: d.Images}
	if err := images.write(w, "", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	l, err := newLister(w, "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", "", psHeader)
	if err != nil {
		return err
	}
	var boxes []any
	for _, b := range d.Containers {
		boxes = append(boxes, b)
	}
	if err := l.print(boxes); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	volumes := &table{headers: map[string]string{"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}, rows: d.Volumes}
	if err := volumes.write(w, "", "table {{.Name}}\t{{.Links}}\t{{.Size}}"); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBuild cache usage: %s\n\n", dockerSize(0))
	cache := &table{headers: map[string]string{"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE",
		"CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}}
	if err := cache.write(w, "", "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"); err != nil {
		return err
	}
	fmt.Fprint(w, "\nHost objects:\n\n")
	host := &table{headers: map[string]string{"Type": "TYPE", "Name": "NAME", "Detail": "DETAIL"}, rows: d.HostObjects}
	return host.write(w, "", "table {{.Type}}\t{{.Name}}\t{{.Detail}}")
}

// dfDetail is `system df -v`: one row per image, box and volume, with
// Docker's field names; templates and JSON see the same.
type dfDetail struct {
	Images     []map[string]any
	Containers []psRow
	Volumes    []map[string]any
	BuildCache []map[string]any
	// HostObjects is a3s-box's own addition: what it made on the host.
	HostObjects []map[string]any
}

func (u *systemUsage) detail(now time.Time) *dfDetail {
	d := &dfDetail{Images: []map[string]any{}, Containers: []psRow{}, Volumes: []map[string]any{}, BuildCache: []map[string]any{}, HostObjects: []map[string]any{}}
	for _, o := range u.host {
		d.HostObjects = append(d.HostObjects, map[string]any{"Type": o.Kind, "Name": o.Name, "Detail": o.Detail})
	}
	for _, i := range u.images.Images {
		// Docker shows an image once, under its first tag.
		f := imageRows(i.Summary, false)[0].fields
		f["CreatedSince"] = humanDuration(now.Sub(i.File.Created.Time)) + " ago"
		f["Size"], f["SharedSize"], f["UniqueSize"] = humanSize(i.Size), humanSize(i.Shared), humanSize(i.Size-i.Shared)
		f["Containers"] = strconv.Itoa(i.Boxes)
		d.Images = append(d.Images, f)
	}
	for _, b := range u.boxes {
		r := newPSRow(nil, b.box, now, false, false)
		r.Size = humanSize(b.size)
		r.LocalVolumes = strconv.Itoa(localVolumes(b.box))
		d.Containers = append(d.Containers, r)
	}
	for _, v := range u.volumes {
		d.Volumes = append(d.Volumes, map[string]any{"Name": v.Name, "Links": strconv.Itoa(v.Links), "Size": dockerSize(v.Size)})
	}
	return d
}

// localVolumes counts the volumes a box mounts.
func localVolumes(b *runtime.Box) int {
	n := 0
	for _, m := range b.Spec.Volumes {
		if m.Type == spec.MountVolume {
			n++
		}
	}
	return n
}

// dockerSize is Docker's size in df and prune: decimal units, four
// significant digits ("1.234GB", "0B").
func dockerSize(n int64) string {
	return unitsSize(float64(n), 1000, []string{"B", "kB", "MB", "GB", "TB", "PB"})
}

// binarySize is Docker's memory size: binary units, four significant
// digits ("23.47GiB").
func binarySize(n int64) string {
	return unitsSize(float64(n), 1024, []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"})
}

func unitsSize(f, base float64, units []string) string {
	i := 0
	for f >= base && i < len(units)-1 {
		f /= base
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}
