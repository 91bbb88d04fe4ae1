package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
)

func init() {
	register(&verb{name: "info", summary: "Display system-wide information", errCode: 1, run: infoVerb})
	register(&verb{name: "version", summary: "Show the a3s-box version information", errCode: 1, run: versionVerb})
}

// Info is what `a3s-box info` reports; --format templates see its fields.
type Info struct {
	Root          string
	Accelerator   string
	AccelReason   string
	VMM           string
	VMMVersion    string
	Kernel        string
	KernelRelease string
	Initrd        string
	Errors        []string `json:",omitempty"`
}

func infoVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("info", "info [OPTIONS]", "Display system-wide information")
	format := fs.StringP("format", "f", "", "Format output using a Go template, or 'json'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	info := Info{Root: rt.Root(), Accelerator: rt.Accel.Name, AccelReason: rt.Accel.Reason, VMM: rt.Driver.Name()}
	if v, err := rt.Driver.Version(ctx); err == nil {
		info.VMMVersion = v
	} else {
		info.Errors = append(info.Errors, err.Error())
	}
	if k, i, err := rt.GuestFiles(); err == nil {
		info.Kernel, info.Initrd, info.KernelRelease = k, i, kernelRelease(k)
	} else {
		info.Errors = append(info.Errors, err.Error())
	}
	if *format != "" {
		return writeFormatted(c, *format, info)
	}
	fmt.Fprint(c.stdout, joinLines(
		"Root Dir: "+info.Root,
		"Accelerator: "+info.Accelerator+" ("+info.AccelReason+")",
		"VMM: "+info.VMM+" "+info.VMMVersion,
		"Kernel: "+orNone(info.Kernel)+releaseSuffix(info.KernelRelease),
		"Initrd: "+orNone(info.Initrd),
	))
	for _, e := range info.Errors {
		fmt.Fprintf(c.stderr, "WARNING: %s\n", e)
	}
	return nil
}

func versionVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("version", "version [OPTIONS]", "Show the a3s-box version information")
	format := fs.StringP("format", "f", "", "Format output using a Go template, or 'json'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	v := struct {
		Version  string
		Protocol int
	}{runtime.Version, runtimeProtocol()}
	if *format != "" {
		return writeFormatted(c, *format, v)
	}
	fmt.Fprintf(c.stdout, "a3s-box version %s\nGuest protocol: %d\n", v.Version, v.Protocol)
	return nil
}

// writeFormatted renders v with a Go template, or as JSON for "json", as
// Docker's --format does.
func writeFormatted(c *cli, format string, v any) error {
	if format == "json" || format == "{{json .}}" {
		return json.NewEncoder(c.stdout).Encode(v)
	}
	t, err := parseTemplate(format)
	if err != nil {
		return err
	}
	if err := t.Execute(c.stdout, v); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	fmt.Fprintln(c.stdout)
	return nil
}

// kernelRelease reads the release from the modules directory shipped with
// the kernel, when it sits beside it.
func kernelRelease(kernel string) string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(kernel), "kernel.release"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func releaseSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

func runtimeProtocol() int { return proto.Version }
