package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/volume"
)

func init() {
	register(&verb{name: "volume", summary: "Manage volumes", errCode: 1, run: volumeVerb})
}

var volumeSubcommands = map[string]subcommand{
	"create":  {volumeCreateVerb, "Create a volume"},
	"ls":      {volumeLsVerb, "List volumes"},
	"list":    {volumeLsVerb, ""},
	"inspect": {volumeInspectVerb, "Display detailed information on one or more volumes"},
	"rm":      {volumeRmVerb, "Remove one or more volumes"},
	"remove":  {volumeRmVerb, ""},
	"prune":   {volumePruneVerb, "Remove unused local volumes"},
}

func volumeVerb(ctx context.Context, c *cli, args []string) error {
	return c.subcommands(ctx, "volume", "Manage volumes", volumeSubcommands, args)
}

// keyValues reads repeated KEY=VALUE flags into a map.
func keyValues(flag string, list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid argument %q for %s: want KEY=VALUE", kv, flag)
		}
		m[k] = v
	}
	return m, nil
}

func volumeCreateVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("volume create", "volume create [OPTIONS] [VOLUME]", "Create a volume")
	driver := fs.StringP("driver", "d", volume.Driver, "Specify volume driver name")
	labels := fs.StringArray("label", nil, "Set metadata for a volume")
	opts := fs.StringArrayP("opt", "o", nil, "Set driver specific options (type=none,o=bind,device=DIR)")
	name := fs.String("name", "", "Specify volume name")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 1:
		return errors.New("'a3s-box volume create' requires at most 1 argument.\nSee 'a3s-box volume create --help'.")
	case fs.NArg() == 1 && *name != "" && *name != fs.Arg(0):
		return errors.New("conflicting options: either specify --name or provide positional arg, not both")
	case fs.NArg() == 1:
		*name = fs.Arg(0)
	}
	if *driver != volume.Driver {
		return fmt.Errorf("volume driver %q is not supported: a3s-box has the %s driver only", *driver, volume.Driver)
	}
	o := volume.Options{}
	var err error
	if o.Labels, err = keyValues("--label", *labels); err != nil {
		return err
	}
	if o.Options, err = keyValues("--opt", *opts); err != nil {
		return err
	}
	if *name == "" {
		*name = volume.NewName()
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	v, err := eng.CreateVolume(ctx, *name, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, v.Name)
	return nil
}

// volumeRow is one volume as volume ls's templates see it.
type volumeRow struct {
	Name       string `json:"Name"`
	Driver     string `json:"Driver"`
	Scope      string `json:"Scope"`
	Mountpoint string `json:"Mountpoint"`
	Labels     string `json:"Labels"`
	Links      string `json:"Links"`
	Size       string `json:"Size"`
	rowLabels
}

var volumeHeader = volumeRow{Name: "VOLUME NAME", Driver: "DRIVER", Scope: "SCOPE", Mountpoint: "MOUNTPOINT",
	Labels: "LABELS", Links: "LINKS", Size: "SIZE", rowLabels: rowLabels{header: true}}

const volumeTable = "{{.Driver}}\t{{.Name}}"

// volumeFilter is volume ls's --filter: the same key ORs, different keys
// AND.
func volumeFilter(args []string, users map[string][]*runtime.Box) (func(*volume.Volume) bool, error) {
	by := map[string][]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		switch k {
		case "dangling":
			if _, err := strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'dangling=%s': want true or false", v)
			}
		case "name", "label", "driver":
		default:
			return nil, fmt.Errorf("invalid filter '%s': volume filters are dangling, name, label and driver", k)
		}
		by[k] = append(by[k], v)
	}
	one := func(k, v string, vol *volume.Volume) bool {
		switch k {
		case "dangling":
			want, _ := strconv.ParseBool(v)
			return (len(users[vol.Name]) == 0) == want
		case "name":
			return strings.Contains(vol.Name, v)
		case "driver":
			return vol.Driver == v
		}
		lk, lv, has := strings.Cut(v, "=")
		got, ok := vol.Labels[lk]
		return ok && (!has || got == lv)
	}
	return func(vol *volume.Volume) bool {
		for k, vals := range by {
			ok := false
			for _, v := range vals {
				ok = ok || one(k, v, vol)
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

func volumeLsVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("volume ls", "volume ls [OPTIONS]", "List volumes")
	quiet := fs.BoolP("quiet", "q", false, "Only display volume names")
	filters := fs.StringArrayP("filter", "f", nil, "Provide filter values (e.g. \"dangling=true\")")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("'a3s-box volume ls' accepts no arguments.\nSee 'a3s-box volume ls --help'.")
	}
	l, err := newListLister(c.stdout, *format, volumeTable, "{{.Name}}", volumeHeader, *quiet)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	users, err := eng.VolumeUsers()
	if err != nil {
		return err
	}
	match, err := volumeFilter(*filters, users)
	if err != nil {
		return err
	}
	vols, err := eng.Volumes(false)
	if err != nil {
		return err
	}
	var rows []any
	for _, u := range vols {
		v := u.Volume
		if match(v) {
			rows = append(rows, volumeRow{Name: v.Name, Driver: v.Driver, Scope: "local", Mountpoint: v.Mountpoint,
				Labels: joinLabels(v.Labels), rowLabels: rowLabels{labels: v.Labels}, Links: strconv.Itoa(len(users[v.Name])), Size: "N/A"})
		}
	}
	return l.print(rows)
}

// volumeInspect is a volume in Docker's inspect shape.
type volumeInspect struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func newVolumeInspect(v *volume.Volume) volumeInspect {
	return volumeInspect{CreatedAt: v.CreatedAt.Local().Format(time.RFC3339), Driver: v.Driver, Labels: v.Labels,
		Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: "local"}
}

func volumeInspectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("volume inspect", "volume inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes")
	format := fs.StringP("format", "f", "", "Format output using a custom template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "volume inspect", 1); err != nil {
		return err
	}
	show, err := inspectPrinter(c.stdout, *format)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	var out []any
	failed := false
	for _, name := range fs.Args() {
		v, err := eng.Volume(name)
		if err != nil {
			c.printError(volumeError(name, err))
			failed = true
			continue
		}
		out = append(out, newVolumeInspect(v))
	}
	if err := show(out); err != nil {
		return err
	}
	if failed {
		return errPrinted
	}
	return nil
}

// volumeError says which volume an error is about, in Docker's words.
func volumeError(name string, err error) error {
	if errors.Is(err, volume.ErrNotFound) {
		return fmt.Errorf("No such volume: %s", name)
	}
	return err
}

func volumeRmVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("volume rm", "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes. You cannot remove a volume that a box uses.")
	force := fs.BoolP("force", "f", false, "Do not report volumes that do not exist")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "volume rm", 1); err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	failed := false
	for _, name := range fs.Args() {
		err := eng.RemoveVolume(ctx, name)
		if errors.Is(err, volume.ErrNotFound) && *force {
			continue
		}
		if err != nil {
			c.printError(volumeError(name, err))
			failed = true
			continue
		}
		fmt.Fprintln(c.stdout, name)
	}
	if failed {
		return errPrinted
	}
	return nil
}

func volumePruneVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("volume prune", "volume prune [OPTIONS]", "Remove unused local volumes")
	all := fs.BoolP("all", "a", false, "Remove all unused volumes, not just anonymous ones")
	force := fs.BoolP("force", "f", false, "Do not prompt for confirmation")
	filters := fs.StringArray("filter", nil, "Provide filter values (e.g. \"label=<label>\")")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	// Docker's volume prune takes label filters only.
	f, err := parsePruneFilters(*filters)
	if err != nil {
		return err
	}
	if !f.until.IsZero() {
		return errors.New(`invalid filter 'until': volume prune takes label=KEY[=VALUE] and label!=KEY[=VALUE]`)
	}
	if !*force {
		warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
		if *all {
			warning = "WARNING! This will remove all local volumes not used by at least one container."
		}
		if !c.confirm(warning) {
			return nil
		}
	}
	removed, freed, err := pruneVolumes(ctx, c, *all, f)
	if len(removed) > 0 {
		fmt.Fprintln(c.stdout, "Deleted Volumes:")
		for _, n := range removed {
			fmt.Fprintln(c.stdout, n)
		}
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "Total reclaimed space: %s\n", humanSize(freed))
	return err
}
