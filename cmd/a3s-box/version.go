package main

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"golang.org/x/sys/unix"
)

func init() {
	register(&verb{name: "version", summary: "Show the a3s-box version information", errCode: 1, run: versionVerb})
}

// Version is what `a3s-box version` reports, in the shape of Docker's
// (`{{.Client.Version}}`, `{{.Server.Version}}`, `{{.Server.APIVersion}}`,
// JSON's ApiVersion ...). There is no daemon: the server is the engine
// this binary holds, so both halves name the same build; their API
// version is the guest protocol's, the one interface a3s-box versions.
type Version struct {
	Client VersionClient
	Server VersionServer
	// GuestAgent is what the last guest to boot under the root said of
	// itself; empty before any box has booted.
	GuestAgent struct {
		Version  string
		Protocol int
		Kernel   string
		Box      string
		Seen     string
	}
}

// VersionClient is Docker's client half.
type VersionClient struct {
	Platform   struct{ Name string }
	Version    string
	APIVersion string `json:"ApiVersion"`
	Protocol   int    // the guest protocol this a3s-box speaks
	GitCommit  string
	GoVersion  string
	Os         string
	Arch       string
	BuildTime  string `json:",omitempty"`
}

// VersionServer is Docker's server half (its types.Version).
type VersionServer struct {
	Platform      struct{ Name string }
	Components    []VersionComponent
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:",omitempty"`
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string `json:",omitempty"`
	BuildTime     string `json:",omitempty"`
}

// VersionComponent is one part of the server: the engine, the VMM, the
// guest's kernel and agent.
type VersionComponent struct {
	Name    string
	Version string
	Details map[string]string `json:",omitempty"`
}

// guestAgent names the guest agent's component.
const guestAgent = "Guest agent"

// buildFacts are what the Go toolchain stamped into the binary.
type buildFacts struct {
	commit string // short, "-dirty" when built from a changed tree
	time   time.Time
	goVer  string
}

// gitCommit and buildTime (RFC 3339) are set by the Makefile's -X flags;
// without them the toolchain's VCS stamps stand in.
var gitCommit, buildTime string

func readBuildFacts() buildFacts {
	f := buildFacts{goVer: goruntime.Version()}
	if gitCommit != "" {
		f.commit = gitCommit
		f.time, _ = time.Parse(time.RFC3339, buildTime)
		return f
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return f
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			f.commit = s.Value
		case "vcs.time":
			f.time, _ = time.Parse(time.RFC3339, s.Value)
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(f.commit) > 7 {
		f.commit = f.commit[:7]
	}
	if dirty && f.commit != "" {
		f.commit += "-dirty"
	}
	return f
}

// newVersion assembles the report; hostKernel is the host's release and
// g the last guest seen (nil: none yet).
func newVersion(b buildFacts, h *engine.Host, hostKernel string, g *runtime.GuestInfo) *Version {
	api := strconv.Itoa(proto.Version)
	v := &Version{}
	c := &v.Client
	c.Platform.Name = "a3s-box"
	c.Version, c.APIVersion, c.Protocol, c.GitCommit, c.GoVersion = runtime.Version, api, proto.Version, b.commit, b.goVer
	c.Os, c.Arch = goruntime.GOOS, goruntime.GOARCH
	s := &v.Server
	s.Platform.Name = "a3s-box"
	s.Version, s.APIVersion, s.MinAPIVersion, s.GitCommit, s.GoVersion = runtime.Version, api, api, b.commit, b.goVer
	s.Os, s.Arch, s.KernelVersion = goruntime.GOOS, goruntime.GOARCH, hostKernel
	if !b.time.IsZero() {
		c.BuildTime = b.time.UTC().Format(time.ANSIC)
		s.BuildTime = b.time.UTC().Format(time.RFC3339Nano)
	}
	s.Components = []VersionComponent{{Name: "Engine", Version: s.Version, Details: map[string]string{
		"ApiVersion": api, "MinAPIVersion": api, "GitCommit": s.GitCommit, "GoVersion": s.GoVersion,
		"Os": s.Os, "Arch": s.Arch, "KernelVersion": s.KernelVersion, "BuildTime": s.BuildTime,
	}}}
	if h != nil {
		vmmVer := h.VMMVersion
		if h.VMMErr != nil {
			vmmVer = ""
		}
		s.Components = append(s.Components, VersionComponent{Name: h.VMM, Version: vmmVer,
			Details: map[string]string{"Accelerator": h.Accel.Name}})
		if h.GuestErr == nil {
			release := kernelRelease(h.Kernel)
			if release == "" && g != nil {
				release = g.Kernel // what the guest said, as info falls back to
			}
			s.Components = append(s.Components, VersionComponent{Name: "Guest kernel", Version: release,
				Details: map[string]string{"Path": h.Kernel}})
		}
	}
	if g != nil {
		a := &v.GuestAgent
		a.Version, a.Protocol, a.Kernel, a.Box = g.Version, g.Protocol, g.Kernel, g.Box
		a.Seen = g.Seen.Local().Format("Mon Jan 2 15:04:05 2006")
		s.Components = append(s.Components, VersionComponent{Name: guestAgent, Version: g.Version,
			Details: map[string]string{"Protocol": strconv.Itoa(g.Protocol)}})
	}
	return v
}

func versionVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("version", "version [OPTIONS]", "Show the a3s-box version information")
	format := fs.StringP("format", "f", "", "Format output using a Go template, or 'json'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	g, err := eng.LastGuest()
	if err != nil {
		fmt.Fprintf(c.stderr, "WARNING: %v\n", err)
	}
	var uts unix.Utsname
	var hostKernel string
	if unix.Uname(&uts) == nil {
		hostKernel = unix.ByteSliceToString(uts.Release[:])
	}
	v := newVersion(readBuildFacts(), eng.Host(ctx), hostKernel, g)
	if *format != "" {
		return writeFormatted(c, *format, v)
	}
	writeVersion(c.stdout, v)
	return nil
}

// writeVersion is Docker's text form: the client, then the server's
// components.
func writeVersion(w io.Writer, v *Version) {
	line := func(k, val string) string { return fmt.Sprintf(" %-18s %s", k+":", val) }
	sub := func(k, val string) string { return fmt.Sprintf("  %-17s %s", k+":", val) }
	c, s := &v.Client, &v.Server
	out := []string{
		"Client: " + c.Platform.Name,
		line("Version", c.Version),
		line("API version", c.APIVersion+" (guest protocol)"),
		line("Go version", c.GoVersion),
		line("Git commit", orNone(c.GitCommit)),
		line("Built", orNone(c.BuildTime)),
		line("OS/Arch", c.Os+"/"+c.Arch),
		"",
		"Server: " + s.Platform.Name,
		" Engine:",
		sub("Version", s.Version),
		sub("API version", s.APIVersion+" (minimum version "+s.MinAPIVersion+")"),
		sub("Go version", s.GoVersion),
		sub("Git commit", orNone(s.GitCommit)),
		sub("Built", orNone(c.BuildTime)),
		sub("OS/Arch", s.Os+"/"+s.Arch),
	}
	for _, comp := range s.Components[1:] {
		if comp.Name == guestAgent {
			continue
		}
		out = append(out, " "+comp.Name+":", sub("Version", orNone(comp.Version)))
	}
	out = append(out, " Guest agent:")
	if a := v.GuestAgent; a.Version == "" {
		out = append(out, sub("Version", "not known until a box boots"))
	} else {
		out = append(out,
			sub("Version", a.Version),
			sub("Protocol", strconv.Itoa(a.Protocol)),
			sub("Kernel", a.Kernel),
			sub("Seen", a.Seen+" (box "+a.Box+")"),
		)
	}
	fmt.Fprint(w, joinLines(out...))
}
