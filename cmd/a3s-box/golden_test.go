package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/spec"
)

// goldenBoxes are fixed boxes in every state ps shows.
func goldenBoxes(now time.Time) []*runtime.Box {
	mk := func(id, name string, created time.Duration, st runtime.BoxState) *runtime.Box {
		grace := spec.Duration(5 * time.Second)
		return &runtime.Box{
			BoxRecord: &runtime.BoxRecord{
				ID: id, Name: name, Created: now.Add(-created), ImageRef: "registry.local/app/web:1.2",
				ImageID: "sha256:" + id, Hostname: id[:12],
				Spec: spec.Box{Image: "registry.local/app/web:1.2", Labels: map[string]string{"tier": "web", "team": "a",
					// a3s-box's own labels stay out of every output.
					"a3s-box.stack": "_boxes", "a3s-box.box": name, "a3s-box.config-hash": "0123abcd"},
					Restart: spec.RestartPolicy{Name: spec.RestartOnFailure, MaxRetries: 3}, StopGracePeriod: &grace},
				Main: &proto.Exec{Args: []string{"/bin/sh", "-c", "httpd -f -p 8080 -h /srv/www"}, Env: []string{"PATH=/bin"}, Dir: "/srv"},
				Health: &spec.Healthcheck{Test: []string{"CMD-SHELL", "wget -q -O- localhost:8080"}, Interval: spec.Duration(time.Second),
					Timeout: spec.Duration(30 * time.Second), StartInterval: spec.Duration(5 * time.Second), Retries: 3},
				StopSignal: "SIGTERM",
			},
			State: &st,
		}
	}
	hex := func(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }
	withMounts := func(b *runtime.Box) *runtime.Box {
		b.Mounts = []runtime.Mount{
			{Type: spec.MountVolume, Name: "data", Destination: "/data"},
			{Type: spec.MountVolume, Name: hex('9'), Destination: "/var/cache", Anonymous: true},
			{Type: spec.MountBind, Source: "/srv/site", Destination: "/srv/www", ReadOnly: true},
			{Type: spec.MountTmpfs, Destination: "/run", Tmpfs: []string{"size=67108864"}},
		}
		return b
	}
	return []*runtime.Box{
		withMounts(mk(hex('a'), "web-healthy", 3*time.Minute, runtime.BoxState{Status: spec.StatusRunning, PID: 1, StartedAt: now.Add(-3 * time.Minute),
			Health: &runtime.Health{Status: spec.HealthHealthy, Log: []runtime.HealthResult{{Start: now.Add(-time.Second), End: now.Add(-time.Second), ExitCode: 0, Output: "ok\n"}}},
			Ports: []network.Binding{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostPort: 8001, ContainerPort: 81, Protocol: "tcp"}, {HostPort: 8000, ContainerPort: 80, Protocol: "tcp"},
				{HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}})),
		mk(hex('b'), "web-starting", 40*time.Second, runtime.BoxState{Status: spec.StatusRunning, PID: 1, StartedAt: now.Add(-30 * time.Second),
			Health: &runtime.Health{Status: spec.HealthStarting, Log: []runtime.HealthResult{}}}),
		mk(hex('c'), "web-paused", 2*time.Hour, runtime.BoxState{Status: spec.StatusPaused, PID: 1, StartedAt: now.Add(-90 * time.Minute)}),
		mk(hex('d'), "web-restarting", 5*time.Minute, runtime.BoxState{Status: spec.StatusRestarting, ExitCode: 1, RestartCount: 2,
			StartedAt: now.Add(-10 * time.Second), FinishedAt: now.Add(-2 * time.Second)}),
		mk(hex('e'), "web-exited", 3*24*time.Hour, runtime.BoxState{Status: spec.StatusExited, ExitCode: 137,
			StartedAt: now.Add(-50 * time.Hour), FinishedAt: now.Add(-49 * time.Hour)}),
		mk(hex('f'), "web-created", time.Second, runtime.BoxState{Status: spec.StatusCreated}),
	}
}

func TestGoldenPS(t *testing.T) {
	time.Local = time.UTC // CREATED AT is in local time
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var rows []any
	for _, b := range goldenBoxes(now) {
		rows = append(rows, newPSRow(nil, b, now, false, false))
	}
	for _, tt := range []struct{ name, format string }{
		{"ps-table", ""},
		{"ps-template", "table {{.Names}}\t{{.State}}\t{{.Label \"tier\"}}\t{{.RestartCount}}"},
		{"ps-json", "json"},
	} {
		var out bytes.Buffer
		l, err := newLister(&out, tt.format, psTable, psHeader)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.print(rows); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.name+".golden", out.Bytes())
	}
}

func TestGoldenInspect(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	rt := &runtime.Runtime{Driver: &vmm.QEMU{}}
	b := goldenBoxes(now)[0]
	b.Spec.RunOptions = spec.RunOptions{ReadOnly: true, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"},
		Ulimits: []spec.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}, PidsLimit: 100, CapAdd: []string{"SYS_ADMIN"},
		CapDrop: []string{"NET_RAW"}, SecurityOpt: []string{"no-new-privileges"}, GroupAdd: []string{"audio"},
		Domainname: "example.org", DNSSearch: []string{"example.org"}, DNSOptions: []string{"ndots:2"},
		Expose: []string{"9000/tcp"}, CPUSet: "0", CPUShares: 512, MemReservation: 64 << 20,
		Logging: &spec.Logging{Driver: "local", Options: map[string]string{"max-size": "1m"}}}
	out, err := json.MarshalIndent([]any{newInspect(engine.New(rt), b, false)}, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect.golden", append(out, '\n'))
}

func TestGoldenEvents(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
	var out bytes.Buffer
	for _, action := range []string{"create", "start", "health_status: healthy", "kill", "die", "stop", "destroy"} {
		e := &runtime.Event{Type: "container", Action: action, Status: action, ID: "abc", From: "img:1", Scope: "local",
			Actor: runtime.EventActor{ID: "abc", Attributes: map[string]string{"name": "web", "image": "img:1", "tier": "web"}},
			Time:  at.Unix(), TimeNano: at.UnixNano()}
		out.WriteString(eventLine(e) + "\n")
		b, _ := json.Marshal(e)
		out.Write(append(b, '\n'))
	}
	// Exec and image events, as the runtime and the image store write them.
	for _, e := range []*runtime.Event{
		{Type: "container", Action: "exec_create: sh -c exit 3", Status: "exec_create: sh -c exit 3", ID: "abc", From: "img:1",
			Actor: runtime.EventActor{ID: "abc", Attributes: map[string]string{"name": "web", "image": "img:1", "execID": "e1"}}},
		{Type: "container", Action: "exec_die", Status: "exec_die", ID: "abc", From: "img:1",
			Actor: runtime.EventActor{ID: "abc", Attributes: map[string]string{"name": "web", "image": "img:1", "execID": "e1", "exitCode": "3"}}},
		{Type: "image", Action: "pull", Status: "pull", ID: "busybox:1",
			Actor: runtime.EventActor{ID: "busybox:1", Attributes: map[string]string{"name": "busybox"}}},
		{Type: "image", Action: "tag", Status: "tag", ID: "sha256:" + strings.Repeat("1", 64),
			Actor: runtime.EventActor{ID: "sha256:" + strings.Repeat("1", 64), Attributes: map[string]string{"name": "other:2"}}},
	} {
		e.Scope, e.Time, e.TimeNano = "local", at.Unix(), at.UnixNano()
		out.WriteString(eventLine(e) + "\n")
		b, _ := json.Marshal(e)
		out.Write(append(b, '\n'))
	}
	golden(t, "events.golden", out.Bytes())
}
