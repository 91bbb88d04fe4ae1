package spec

import (
	"reflect"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []Port
		wantErr bool
	}{
		{"80", []Port{{ContainerPort: 80}}, false},
		{"80/udp", []Port{{ContainerPort: 80, Protocol: "udp"}}, false},
		{"8080:80/tcp", []Port{{HostPort: 8080, ContainerPort: 80}}, false},
		{"0:80", []Port{{ContainerPort: 80}}, false},
		{"127.0.0.1:8080:80", []Port{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80}}, false},
		{"[::1]::80", []Port{{HostIP: "::1", ContainerPort: 80}}, false},
		{"80-81", []Port{{ContainerPort: 80}, {ContainerPort: 81}}, false},
		{"", nil, true},
		{"0", nil, true},
		{"65536", nil, true},
		{"80/sctp", nil, true},
		{"x:80", nil, true},
		{"1.2.3:80:80", nil, true},
		{"81-80", nil, true},
		{"8000-8001:80", nil, true},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if s := (Port{HostIP: "::1", HostPort: 8080, ContainerPort: 80}).String(); s != "[::1]:8080:80/tcp" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		in      string
		want    Mount
		wantErr bool
	}{
		{"/data", Mount{Type: MountVolume, Target: "/data"}, false},
		{"data:/data", Mount{Type: MountVolume, Source: "data", Target: "/data"}, false},
		{"./x:/x:ro", Mount{Type: MountBind, Source: "./x", Target: "/x", ReadOnly: true}, false},
		{"~/x:/x:rw", Mount{Type: MountBind, Source: "~/x", Target: "/x"}, false},
		{"data:/data:nocopy,ro", Mount{Type: MountVolume, Source: "data", Target: "/data", ReadOnly: true, NoCopy: true}, false},
		{"a:/b:z", Mount{}, true},
		{"a:/b:ro:x", Mount{}, true},
		{"a:/b:rw,ro", Mount{}, true},
		{"a:/b:ro,ro", Mount{}, true},
		{"a:/b:", Mount{}, true},
		{"a:/b:ro,", Mount{}, true},
		{"/h:/b:nocopy", Mount{}, true},
		{":/b", Mount{}, true},
		{"", Mount{}, true},
	}
	for _, tt := range tests {
		got, err := ParseVolume(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	tests := []struct {
		in      string
		want    Tmpfs
		wantErr bool
	}{
		{"/run", Tmpfs{Target: "/run"}, false},
		{"/run:size=64m,mode=1777,nosuid,ro", Tmpfs{Target: "/run", Size: 64 << 20, Mode: 0o1777, Options: []string{"nosuid", "ro"}}, false},
		{"/run:size=0", Tmpfs{}, true},
		{"/run:mode=99", Tmpfs{}, true},
		{"/run:uid=0", Tmpfs{}, true},
		{":size=1m", Tmpfs{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTmpfs(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseTmpfs(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"SIGTERM": 15, "term": 15, "KILL": 9, "SIGRTMIN+2": 36, "9": 9} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SIGNOPE", "0", "65", "RTMIN+31"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) took it", in)
		}
	}
}

func TestParseCondition(t *testing.T) {
	for in, want := range map[string]string{
		"started": DependStarted, "service_started": DependStarted,
		"healthy": DependHealthy, "service_healthy": DependHealthy,
		"completed": DependCompleted, "service_completed_successfully": DependCompleted,
	} {
		if got, err := ParseCondition(in); err != nil || got != want {
			t.Errorf("ParseCondition(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseCondition("ready"); err == nil {
		t.Error(`ParseCondition("ready") took it`)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"image", "command", "environment", "healthcheck", "mem_limit", "ports"}
	for in, want := range map[string]string{
		"imgae": "image", "comand": "command", "enviroment": "environment",
		"healthchek": "healthcheck", "memlimit": "mem_limit", "Ports": "ports",
		"foo": "", "x": "", "volumes": "",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
