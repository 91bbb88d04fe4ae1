package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
	"golang.org/x/sys/unix"
)

func init() {
	register(&verb{name: "info", summary: "Display system-wide information", errCode: 1, run: infoVerb})
}

// Info is what `a3s-box info` reports; --format templates see its
// fields, named as Docker names them where Docker has them.
type Info struct {
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	ServerVersion     string
	// Accelerator is kvm or tcg; AccelReason says why (detection's
	// finding, or which setting chose it); AccelDetected is what
	// detection finds, for when a setting overrode it.
	Accelerator   string
	AccelReason   string
	AccelDetected string `json:",omitempty"`
	VMM           string
	VMMVersion    string
	// GuestKernel is the kernel boxes boot, GuestKernelVersion its
	// release; Initrd the initramfs holding the guest agent.
	GuestKernel        string
	GuestKernelVersion string
	Initrd             string
	// GuestAgentVersion is what the last guest to boot reported (empty
	// before any box has booted); ProtocolVersion is the guest protocol
	// this a3s-box speaks.
	GuestAgentVersion string
	ProtocolVersion   int
	KernelVersion     string // the host's
	OperatingSystem   string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	Name              string
	DockerRootDir     string
	Root              string // the same as DockerRootDir: a3s-box's state directory
	// DiskUsage is what images, boxes and volumes take, as `system df`
	// counts them.
	DiskUsage int64
	Errors    []string `json:",omitempty"`
}

func infoVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("info", "info [OPTIONS]", "Display system-wide information")
	format := fs.StringP("format", "f", "", "Format output using a Go template, or 'json'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	info := gatherInfo(ctx, c, eng)
	if *format != "" {
		return writeFormatted(c, *format, info)
	}
	writeInfo(c.stdout, info)
	for _, e := range info.Errors {
		fmt.Fprintf(c.stderr, "WARNING: %s\n", e)
	}
	return nil
}

func gatherInfo(ctx context.Context, c *cli, eng *engine.Engine) *Info {
	h := eng.Host(ctx)
	info := &Info{
		ServerVersion: runtime.Version, Accelerator: h.Accel.Name, AccelReason: h.Accel.Reason,
		VMM: h.VMM, ProtocolVersion: proto.Version, OSType: goruntime.GOOS,
		NCPU: goruntime.NumCPU(), Root: eng.Root(), DockerRootDir: eng.Root(),
	}
	fail := func(err error) { info.Errors = append(info.Errors, err.Error()) }
	if h.Detected != nil {
		d := h.Detected
		info.AccelDetected = d.Name + " (" + d.Reason + ")"
	}
	if h.VMMErr == nil {
		info.VMMVersion = h.VMMVersion
	} else {
		fail(h.VMMErr)
	}
	if h.GuestErr == nil {
		info.GuestKernel, info.Initrd, info.GuestKernelVersion = h.Kernel, h.Initrd, kernelRelease(h.Kernel)
	} else {
		fail(h.GuestErr)
	}
	if g, err := eng.LastGuest(); err == nil && g != nil {
		info.GuestAgentVersion = g.Version
		if info.GuestKernelVersion == "" {
			info.GuestKernelVersion = g.Kernel
		}
	}
	boxes, err := eng.Boxes()
	if err != nil {
		fail(err)
	}
	for _, b := range boxes {
		info.Containers++
		switch {
		case b.State.Status == spec.StatusPaused:
			info.ContainersPaused++
		case b.State.Running() || b.State.Status == spec.StatusRestarting:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	if du, err := c.diskUsage(ctx, eng); err == nil {
		info.Images = len(du.images.Images)
		info.DiskUsage = du.images.Total + du.boxesSize() + du.volumesSize()
	} else {
		fail(err)
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		info.KernelVersion, info.Architecture = unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Machine[:])
		info.Name = unix.ByteSliceToString(uts.Nodename[:])
	}
	info.OperatingSystem = osRelease()
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	return info
}

// writeInfo prints info as Docker's `info` lays it out.
func writeInfo(w io.Writer, i *Info) {
	accel := []string{" Accelerator: " + i.Accelerator, "  Reason: " + i.AccelReason}
	if i.AccelDetected != "" {
		accel = append(accel, "  Detected: "+i.AccelDetected)
	}
	agent := i.GuestAgentVersion
	if agent == "" {
		agent = "not known until a box boots"
	}
	lines := []string{
		"Client:",
		" Version:    " + runtime.Version,
		" OS/Arch:    " + goruntime.GOOS + "/" + goruntime.GOARCH,
		"",
		"Server:",
		fmt.Sprintf(" Containers: %d", i.Containers),
		fmt.Sprintf("  Running: %d", i.ContainersRunning),
		fmt.Sprintf("  Paused: %d", i.ContainersPaused),
		fmt.Sprintf("  Stopped: %d", i.ContainersStopped),
		fmt.Sprintf(" Images: %d", i.Images),
		" Server Version: " + i.ServerVersion,
	}
	fmt.Fprint(w, joinLines(append(append(lines, accel...),
		" VMM: "+i.VMM+" "+i.VMMVersion,
		" Guest Kernel: "+orNone(i.GuestKernelVersion)+pathSuffix(i.GuestKernel),
		" Initrd: "+orNone(i.Initrd),
		" Guest Agent: "+agent,
		fmt.Sprintf(" Protocol Version: %d", i.ProtocolVersion),
		" Kernel Version: "+i.KernelVersion,
		" Operating System: "+i.OperatingSystem,
		" OSType: "+i.OSType,
		" Architecture: "+i.Architecture,
		fmt.Sprintf(" CPUs: %d", i.NCPU),
		" Total Memory: "+binarySize(i.MemTotal),
		" Name: "+i.Name,
		" Root Dir: "+i.Root,
		" Disk Usage: "+dockerSize(i.DiskUsage),
	)...))
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

// osRelease is the host's PRETTY_NAME from os-release.
func osRelease() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return goruntime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return goruntime.GOOS
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func pathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " (" + p + ")"
}
