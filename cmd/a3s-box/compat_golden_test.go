package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/vmm"
)

func TestGoldenContainerHelp(t *testing.T) {
	var out bytes.Buffer
	containerUsage(&out)
	golden(t, "container-help.golden", out.Bytes())
}

func TestGoldenVersion(t *testing.T) {
	time.Local = time.UTC
	b := buildFacts{commit: "1f3f914", time: time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), goVer: "go1.26.8"}
	h := &engine.Host{VMM: "qemu-microvm", VMMVersion: "7.2.19", Accel: vmm.Accel{Name: "tcg"}, Kernel: "/nonexistent/vmlinux"}
	g := &runtime.GuestInfo{Version: "dev", Protocol: proto.Version, Kernel: "6.1.0-41-amd64", Box: "web", Seen: time.Date(2026, 12, 7, 23, 45, 0, 0, time.UTC)}
	v := newVersion(b, h, "6.1.0-40-amd64", g)
	var out bytes.Buffer
	writeVersion(&out, v)
	golden(t, "version.golden", out.Bytes())

	c := &cli{stdout: &out}
	for _, format := range []string{"json", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.GitCommit}} {{.Client.APIVersion}} {{.Client.BuildTime}}",
		"{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}"} {
		out.Reset()
		if err := writeFormatted(c, format, v); err != nil {
			t.Fatal(err)
		}
		name := "version-json.golden"
		if format != "json" {
			name = "version-template.golden"
			if strings.Contains(format, "range") {
				name = "version-components.golden"
			}
		}
		golden(t, name, out.Bytes())
	}
	// Before any guest booted, and without build stamps.
	out.Reset()
	writeVersion(&out, newVersion(buildFacts{goVer: "go1.26.8"}, nil, "", nil))
	golden(t, "version-bare.golden", out.Bytes())
}
