package spec

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// invalidStacks are the malformed stacks under testdata/invalid, each with
// the first problem it must be reported with (file:line: field: message).
// Every file there must be listed, and every problem must name a line.
var invalidStacks = []struct {
	file  string
	line  int
	field string
	msg   string
}{
	{"address-outside-subnet.yaml", 5, "boxes.web.networks.back", "invalid ipv4_address 10.9.0.5: not in subnet 10.1.2.0/24"},
	{"alias-bomb.yaml", 2, "", "expands to more than 262144 nodes through aliases"},
	{"bad-box-name.yaml", 2, "boxes.-web", `invalid box name "-web"`},
	{"bad-condition.yaml", 6, "boxes.web.depends_on.db.condition", `invalid condition "ready": want started, healthy or completed`},
	{"bad-dns.yaml", 4, "boxes.web.dns[1]", `"dns.example" is not an IP address`},
	{"bad-duration.yaml", 6, "boxes.web.healthcheck.interval", `invalid duration "30": want a non-negative value with a unit`},
	{"bad-extra-host.yaml", 5, "boxes.web.extra_hosts[0]", `invalid extra host "db 10.0.0.2": want HOST:IP`},
	{"bad-healthcheck-test.yaml", 5, "boxes.web.healthcheck.test", `must start with CMD, CMD-SHELL or NONE, not "CURL"`},
	{"bad-image.yaml", 3, "boxes.web.image", `invalid image reference "Busybox:latest:extra"`},
	{"bad-port.yaml", 5, "boxes.web.ports[0]", `invalid port "8080:http": container port: "http" is not a port number`},
	{"bad-restart.yaml", 4, "boxes.web.restart", `invalid restart policy "sometimes"`},
	{"bad-signal.yaml", 4, "boxes.web.stop_signal", `invalid signal "SIGSTOPPLEASE"`},
	{"bad-size.yaml", 4, "boxes.web.mem_limit", `invalid size "12q"`},
	{"bad-stack-name.yaml", 1, "name", `invalid stack name "My Shop"`},
	{"bad-subnet.yaml", 7, "networks.back.ipam", `invalid subnet "10.1.2.3/24": it should be 10.1.2.0/24`},
	{"bad-tmpfs.yaml", 5, "boxes.web.tmpfs[0]", `invalid tmpfs "/run:size=lots"`},
	{"bad-volume-mode.yaml", 5, "boxes.web.volumes[0]", `invalid volume "data:/data:rw,ro": mode "rw,ro": ro and rw exclude each other`},
	{"bad-volume-type.yaml", 5, "boxes.web.volumes[0].type", `invalid volume type "npipe": want volume, bind or tmpfs`},
	{"boxes-and-services.yaml", 1, "", "boxes and services are two names for one list"},
	{"compose-only-field.yaml", 4, "boxes.web.cap_add", `unknown field "cap_add": a compose field that stack files do not take`},
	{"dependency-cycle.yaml", 11, "boxes.c.depends_on.a", "dependency cycle: a -> b -> c -> a"},
	{"duplicate-box.yaml", 4, "boxes.web", `duplicate key "web" (first at line 2)`},
	{"duplicate-mount-target.yaml", 7, "boxes.web.tmpfs[0]", "/data is already a mount point (volumes[0])"},
	{"duplicate-stack-name.yaml", 6, "name", `stack "shop" is already defined at line 1`},
	{"empty.yaml", 1, "", "no stack in the file"},
	{"env-list-no-value.yaml", 6, "boxes.web.environment[1]", `"SECRET" has no value`},
	{"env-no-value.yaml", 6, "boxes.web.environment.SECRET", "no value"},
	{"missing-env-file.yaml", 4, "boxes.web.env_file", "missing.env does not exist"},
	{"missing-image.yaml", 2, "boxes.web", "no image"},
	{"multi-doc-no-name.yaml", 6, "name", "is required when a file holds more than one stack"},
	{"negative-duration.yaml", 4, "boxes.web.stop_grace_period", `invalid duration "-1s"`},
	{"negative-replicas.yaml", 4, "boxes.web.replicas", "must not be negative, not -2"},
	{"port-conflict.yaml", 4, "boxes.web.ports[0]", `host port 8080/tcp is also published by box "api"`},
	{"port-out-of-range.yaml", 6, "boxes.web.ports[1]", `invalid port "70000"`},
	{"port-range-mismatch.yaml", 4, "boxes.web.ports[0]", "the host and container ranges differ in length"},
	{"relative-mount-target.yaml", 5, "boxes.web.volumes[0]", `mount point "www" is not an absolute path`},
	{"self-dependency.yaml", 4, "boxes.web.depends_on[0]", `box "web" depends on itself`},
	{"short-volume-name.yaml", 8, "volumes.data.name", `invalid volume name "d": a volume's name has at least 2 characters`},
	{"syntax-indent.yaml", 4, "", "did not find expected key"},
	{"syntax-tab.yaml", 3, "", "found character that cannot start any token"},
	{"syntax-unclosed-quote.yaml", 4, "", "found unexpected end of stream"},
	{"too-little-memory.yaml", 4, "boxes.web.mem_limit", "the guest kernel needs at least 112m to boot"},
	{"undeclared-network.yaml", 4, "boxes.web.networks[0]", `network "frontend" is not declared under networks`},
	{"undeclared-volume.yaml", 5, "boxes.db.volumes[0]", `volume "dbdata" is not declared under volumes (did you mean "db-data"?)`},
	{"unknown-dependency.yaml", 4, "boxes.web.depends_on[0]", `box "dbb" is not in the stack (did you mean "db"?)`},
	{"unknown-field.yaml", 3, "boxes.web.imgae", `unknown field "imgae" (did you mean "image"?)`},
	{"unknown-healthcheck-field.yaml", 6, "boxes.web.healthcheck.intervall", `unknown field "intervall" (did you mean "interval"?)`},
	{"unknown-top-field.yaml", 2, "boxs", `unknown field "boxs" (did you mean "boxes"?)`},
	{"wrong-type-boxes.yaml", 3, "boxes", "want a mapping, not a list"},
	{"wrong-type-command.yaml", 5, "boxes.web.command", "want a string or a list of strings, not a mapping"},
	{"wrong-type-cpus.yaml", 4, "boxes.web.cpus", "want a number, not a list"},
	{"wrong-type-init.yaml", 4, "boxes.web.init", "want true or false, not a list"},
}

var located = regexp.MustCompile(`^testdata/invalid/[a-z-]+\.yaml:[1-9][0-9]*: `)

func TestInvalidStacks(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, tt := range invalidStacks {
		listed[tt.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no entry in invalidStacks", f)
		}
	}
	for _, tt := range invalidStacks {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			stacks, _, err := LoadData(context.Background(), path, data)
			if err == nil {
				t.Fatalf("loaded %d stacks, want an error", len(stacks))
			}
			if stacks != nil {
				t.Errorf("got stacks along with the error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !located.MatchString(line) {
					t.Errorf("problem without file and line: %q", line)
				}
			}
			first := Errors(err)[0]
			var e *Error
			if !asError(first, &e) {
				t.Fatalf("first problem %v is a %T, want *Error", first, first)
			}
			if e.File != path || e.Line != tt.line || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got  %s\nwant %s:%d: %s: ...%s...", e, path, tt.line, tt.field, tt.msg)
			}
		})
	}
	if len(invalidStacks) < 25 {
		t.Errorf("only %d malformed stacks; the issue asks for at least 25", len(invalidStacks))
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}
