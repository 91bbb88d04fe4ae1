package main

import (
	"context"
	"fmt"
	"sort"
)

// composeConfig is `compose config`: the project as compose-go resolves
// it (interpolated, merged, paths made absolute), printed as `docker
// compose config` prints it; warnings name what a3s-box will not act on.
func composeConfig(ctx context.Context, p *compose, args []string) error {
	fs := p.flags("config", "config [OPTIONS] [SERVICE...]", "Parse, resolve and render the compose file in canonical format")
	services := fs.Bool("services", false, "Print the service names, one per line")
	volumes := fs.Bool("volumes", false, "Print the volume names, one per line")
	images := fs.Bool("images", false, "Print the image names, one per line")
	quiet := fs.BoolP("quiet", "q", false, "Only validate the configuration, don't print anything")
	format := fs.String("format", "yaml", "Format the output. Values: [yaml | json]")
	if err := p.c.parse(fs, args, 1); err != nil {
		return err
	}
	if *format != "yaml" && *format != "json" {
		return fmt.Errorf("invalid --format %q: want yaml or json", *format)
	}
	proj, err := p.loadServices(ctx, fs.Args())
	if err != nil {
		return err
	}
	m := proj.Model
	if fs.NArg() > 0 {
		if m, err = m.WithSelectedServices(fs.Args()); err != nil {
			return err
		}
	}
	switch {
	case *quiet:
		return nil
	case *services:
		for _, n := range m.ServiceNames() {
			fmt.Fprintln(p.c.stdout, n)
		}
		return nil
	case *volumes:
		names := make([]string, 0, len(m.Volumes))
		for n := range m.Volumes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintln(p.c.stdout, n)
		}
		return nil
	case *images:
		for _, n := range m.ServiceNames() {
			fmt.Fprintln(p.c.stdout, m.Services[n].Image)
		}
		return nil
	}
	var out []byte
	if *format == "json" {
		out, err = m.MarshalJSON()
	} else {
		out, err = m.MarshalYAML()
	}
	if err != nil {
		return err
	}
	_, err = p.c.stdout.Write(out)
	return err
}
