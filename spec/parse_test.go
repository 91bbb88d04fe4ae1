package spec

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func dur(d time.Duration) *Duration { v := Duration(d); return &v }

func parseOne(t *testing.T, file, src string) *Stack {
	t.Helper()
	stacks, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(stacks) != 1 {
		t.Fatalf("got %d stacks, want 1", len(stacks))
	}
	return stacks[0]
}

// TestParseForms checks that every spelling a field takes decodes to the
// same Box.
func TestParseForms(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shop.yaml")
	tests := []struct {
		name string
		yaml string // the box, indented under boxes.b
		want Box
	}{
		{"command string", "command: httpd -f -h \"/var/www\"",
			Box{Command: []string{"httpd", "-f", "-h", "/var/www"}}},
		{"command list with numbers", "command: [sleep, 10]", Box{Command: []string{"sleep", "10"}}},
		{"entrypoint cleared", `entrypoint: ""`, Box{Entrypoint: []string{}}},
		{"entrypoint empty list", "entrypoint: []", Box{Entrypoint: []string{}}},
		{"entrypoint list", "entrypoint: [/bin/sh, -c]", Box{Entrypoint: []string{"/bin/sh", "-c"}}},
		{"environment map keeps spelling", "environment: {B: yes, A: 08080, C: 1.50, D: \"\", E: true}",
			Box{Env: []string{"A=08080", "B=yes", "C=1.50", "D=", "E=true"}}},
		{"environment list", "environment: [B=2, A=1=1]", Box{Env: []string{"B=2", "A=1=1"}}},
		{"memory suffix", "mem_limit: 512m", Box{Memory: 512 << 20}},
		{"memory bytes", "mem_limit: 134217728", Box{Memory: 128 << 20}},
		{"cpus number", "cpus: 1.5", Box{CPUs: 1.5}},
		{"cpus string", `cpus: "2"`, Box{CPUs: 2}},
		{"labels map", "labels: {a: b, n: 1}", Box{Labels: map[string]string{"a": "b", "n": "1"}}},
		{"labels list", "labels: [a=b, flag]", Box{Labels: map[string]string{"a": "b", "flag": ""}}},
		{"restart bare no", "restart: no", Box{Restart: RestartPolicy{Name: RestartNo}}},
		{"restart on-failure", "restart: on-failure:3", Box{Restart: RestartPolicy{Name: RestartOnFailure, MaxRetries: 3}}},
		{"health string", "healthcheck: {test: curl -f localhost, interval: 1m30s, retries: 2}",
			Box{Healthcheck: &Healthcheck{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: Duration(90 * time.Second), Retries: 2}}},
		{"health disable", "healthcheck: {disable: true}", Box{Healthcheck: &Healthcheck{Disable: true}}},
		{"stop settings", "stop_signal: SIGINT\nstop_grace_period: 3s", Box{StopSignal: "SIGINT", StopGracePeriod: dur(3 * time.Second)}},
		{"ports short", `ports: [80, "8080:80", "127.0.0.1::53/udp", "[::1]:9000-9001:90-91"]`, Box{Ports: []Port{
			{ContainerPort: 80}, {HostPort: 8080, ContainerPort: 80}, {HostIP: "127.0.0.1", ContainerPort: 53, Protocol: "udp"},
			{HostIP: "::1", HostPort: 9000, ContainerPort: 90}, {HostIP: "::1", HostPort: 9001, ContainerPort: 91}}}},
		{"ports long", `ports: [{target: 80, published: "8080", host_ip: 0.0.0.0, protocol: tcp}, {target: 53, protocol: udp}]`,
			Box{Ports: []Port{{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80}, {ContainerPort: 53, Protocol: "udp"}}}},
		{"volumes short", "volumes: [data:/data, ./site:/www:ro, /abs:/abs:rw, /anon]", Box{Volumes: []Mount{
			{Type: MountVolume, Source: "data", Target: "/data"},
			{Type: MountBind, Source: filepath.Join(dir, "site"), Target: "/www", ReadOnly: true},
			{Type: MountBind, Source: "/abs", Target: "/abs"},
			{Type: MountVolume, Target: "/anon"}}}},
		{"volumes long and tmpfs", "volumes: [{type: bind, source: ../x, target: /x, read_only: true}, {type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 755}}, {source: data, target: /d}]",
			Box{Volumes: []Mount{{Type: MountBind, Source: filepath.Join(filepath.Dir(dir), "x"), Target: "/x", ReadOnly: true}, {Type: MountVolume, Source: "data", Target: "/d"}},
				Tmpfs: []Tmpfs{{Target: "/t", Size: 1 << 20, Mode: 0o755}}}},
		{"tmpfs string", "tmpfs: /run", Box{Tmpfs: []Tmpfs{{Target: "/run"}}}},
		{"tmpfs list", "tmpfs: [\"/run:size=64m,mode=1777,noexec\"]", Box{Tmpfs: []Tmpfs{{Target: "/run", Size: 64 << 20, Mode: 0o1777, Options: []string{"noexec"}}}}},
		{"networks list", "networks: [back, default]", Box{Networks: []NetworkAttachment{{Name: "back"}, {Name: "default"}}}},
		{"networks map", "networks: {front: , back: {aliases: [db.local]}}", Box{Networks: []NetworkAttachment{{Name: "back", Aliases: []string{"db.local"}}, {Name: "front"}}}},
		{"depends_on list", "depends_on: [db]", Box{DependsOn: []Dependency{{Name: "db", Condition: DependStarted}}}},
		{"depends_on map compose spelling", "depends_on: {db: {condition: service_healthy}, job: {condition: service_completed_successfully}, w: }",
			Box{DependsOn: []Dependency{{Name: "db", Condition: DependHealthy}, {Name: "job", Condition: DependCompleted}, {Name: "w", Condition: DependStarted}}}},
		{"dns string", "dns: 1.1.1.1", Box{DNS: []string{"1.1.1.1"}}},
		{"extra_hosts list", `extra_hosts: ["a:10.0.0.1", "b=::1"]`, Box{ExtraHosts: []string{"a:10.0.0.1", "b:::1"}}},
		{"extra_hosts map", "extra_hosts: {gw: host-gateway}", Box{ExtraHosts: []string{"gw:host-gateway"}}},
		{"init yes", "init: true", Box{Init: true}},
		{"simple strings", "user: \"1000:1000\"\nworking_dir: /app\nhostname: web-1", Box{User: "1000:1000", WorkingDir: "/app", Hostname: "web-1"}},
		{"extension key", "x-note: anything\nx-more: {a: [1]}", Box{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src strings.Builder
			src.WriteString("name: shop\nboxes:\n  b:\n    image: busybox\n")
			for _, l := range strings.Split(tt.yaml, "\n") {
				src.WriteString("    " + l + "\n")
			}
			src.WriteString("  db: {image: busybox}\n  job: {image: busybox}\n  w: {image: busybox}\n")
			src.WriteString("volumes: {data: }\nnetworks: {back: , front: }\n")
			s := parseOne(t, file, src.String())
			got := s.Boxes["b"]
			tt.want.Name, tt.want.Image = "b", "busybox"
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestParseStackLevel(t *testing.T) {
	s := parseOne(t, "/srv/My-Shop.yaml", `
x-defaults: &defaults
  image: busybox
  restart: always
services:
  web:
    <<: *defaults
    command: [httpd]
  api:
    <<: *defaults
    restart: "no"
volumes:
  data:
    name: shared-data
    external: true
    labels: [tier=db]
networks:
  back: {internal: true, labels: {a: b}}
`)
	if s.Name != "my-shop" {
		t.Errorf("name from the file = %q, want my-shop", s.Name)
	}
	if got := s.BoxNames(); !slices.Equal(got, []string{"api", "web"}) {
		t.Errorf("boxes = %v", got)
	}
	if s.Boxes["web"].Restart.Name != RestartAlways || s.Boxes["api"].Restart.Name != RestartNo {
		t.Errorf("merge keys: web %v, api %v", s.Boxes["web"].Restart, s.Boxes["api"].Restart)
	}
	if v := s.Volumes["data"]; v.Name != "shared-data" || !v.External || v.Labels["tier"] != "db" {
		t.Errorf("volume = %+v", v)
	}
	if n := s.Networks["back"]; !n.Internal || n.Labels["a"] != "b" {
		t.Errorf("network = %+v", n)
	}
}

func TestParseDocuments(t *testing.T) {
	stacks, err := Parse("multi.yaml", []byte("name: one\nboxes: {a: {image: busybox}}\n---\nname: two\nboxes: {b: {image: busybox}}\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks) != 2 || stacks[0].Name != "one" || stacks[1].Name != "two" {
		t.Fatalf("got %d stacks", len(stacks))
	}
	if _, err := Parse("-", []byte("boxes: {a: {image: busybox}}\n")); err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("standard input without a name: err = %v, want one asking for name", err)
	}
}

// TestParseReportsEverything checks that one pass reports every problem,
// in line order, and nothing twice: an image that failed to decode is not
// reported missing as well.
func TestParseReportsEverything(t *testing.T) {
	_, err := Parse("s.yaml", []byte(`name: s
boxes:
  web:
    image: [busybox]
    ports: ["80:x"]
    mem_limit: 1z
    depends_on: [nope]
  db:
    image: busybox
    volumes: [ghost:/data]
    cpus: -1
`))
	want := []string{
		`s.yaml:4: boxes.web.image: want a string, not a list`,
		`s.yaml:5: boxes.web.ports[0]: invalid port "80:x"`,
		`s.yaml:6: boxes.web.mem_limit: invalid size "1z"`,
		`s.yaml:7: boxes.web.depends_on[0]: box "nope" is not in the stack`,
		`s.yaml:10: boxes.db.volumes[0]: volume "ghost" is not declared`,
		`s.yaml:11: boxes.db.cpus: invalid cpus "-1"`,
	}
	errs := Errors(err)
	if len(errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q...", i, errs[i], w)
		}
	}
}

// TestBoxFileFields keeps the file form in step with Box: every field of
// Box but name, auto_remove and RunOptions' can be written in a stack
// file.
func TestBoxFileFields(t *testing.T) {
	runOnly := fieldsOf(reflect.TypeFor[RunOptions]()).names
	box := slices.DeleteFunc(slices.Clone(fieldsOf(reflect.TypeFor[Box]()).names), func(n string) bool { return slices.Contains(runOnly, n) })
	file := fieldsOf(reflect.TypeFor[boxFile]()).names
	want := slices.DeleteFunc(slices.Clone(box), func(n string) bool { return n == "name" || n == "auto_remove" })
	if !slices.Equal(file, want) {
		t.Errorf("boxFile fields %v\nwant Box's less name and auto_remove: %v", file, want)
	}
}

// TestBoxJSONRoundTrip checks the canonical JSON form a3s-box keeps on
// disk: a cleared entrypoint stays cleared.
func TestBoxJSONRoundTrip(t *testing.T) {
	in := Box{Name: "b", Image: "busybox", Entrypoint: []string{}, Ports: []Port{{HostPort: 1, ContainerPort: 2, Protocol: "udp"}},
		Volumes: []Mount{{Type: MountVolume, Source: "d", Target: "/d"}}, DependsOn: []Dependency{{Name: "x", Condition: DependHealthy}},
		StopGracePeriod: dur(time.Second), Healthcheck: &Healthcheck{Test: []string{"NONE"}}, Restart: RestartPolicy{Name: RestartAlways}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Box
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	s := &Stack{Name: "s", Boxes: map[string]Box{
		"a": {Image: "busybox", DependsOn: []Dependency{{Name: "b"}}},
		"b": {Image: "busybox", DependsOn: []Dependency{{Name: "a", Condition: "service_healthy"}}},
	}}
	err := s.Validate()
	want := []string{
		`boxes.b.depends_on[0]: invalid condition "service_healthy"`,
		`boxes.b.depends_on[0]: dependency cycle: a -> b -> a`,
	}
	errs := Errors(err)
	if len(errs) != len(want) {
		t.Fatalf("got %v", err)
	}
	for i, w := range want {
		if errs[i].Error() != w && !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q", i, errs[i], w)
		}
	}
}
