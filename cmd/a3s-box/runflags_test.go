package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

func parseRunFlags(t *testing.T, args ...string) (*spec.Box, *boxFlags, error) {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	bf := addBoxFlags(fs)
	if err := fs.Parse(append(args, "busybox")); err != nil {
		return nil, nil, err
	}
	b, err := bf.box(fs)
	return b, bf, err
}

func TestRunOptFlags(t *testing.T) {
	labels := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(labels, []byte("# comment\n\na=file\nb=file\nflag\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want spec.RunOptions
		err  string // a part of the error; "" for none
	}{
		{"read-only", []string{"--read-only"}, spec.RunOptions{ReadOnly: true}, ""},
		{"sysctl", []string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel/shm_rmid_forced=1"},
			spec.RunOptions{Sysctls: map[string]string{"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}}, ""},
		{"sysctl without value", []string{"--sysctl", "net.ipv4.ip_forward"}, spec.RunOptions{}, "KEY=VALUE"},
		{"sysctl leading out", []string{"--sysctl", "../../etc/x=1"}, spec.RunOptions{}, "dotted parts"},
		{"sysctl one part", []string{"--sysctl", "kernel=1"}, spec.RunOptions{}, "dotted parts"},
		{"ulimit", []string{"--ulimit", "nofile=1024:2048", "--ulimit", "core=0", "--ulimit", "nofile=512"},
			spec.RunOptions{Ulimits: []spec.Ulimit{{Name: "core"}, {Name: "nofile", Soft: 512, Hard: 512}}}, ""},
		{"ulimit unlimited", []string{"--ulimit", "memlock=-1:-1"}, spec.RunOptions{Ulimits: []spec.Ulimit{{Name: "memlock", Soft: -1, Hard: -1}}}, ""},
		{"ulimit unknown", []string{"--ulimit", "files=1"}, spec.RunOptions{}, "invalid ulimit type: files"},
		{"ulimit soft over hard", []string{"--ulimit", "nofile=20:10"}, spec.RunOptions{}, "less than or equal"},
		{"ulimit not a number", []string{"--ulimit", "nofile=many"}, spec.RunOptions{}, "invalid ulimit soft value"},
		{"shm-size", []string{"--shm-size", "128m"}, spec.RunOptions{ShmSize: 128 << 20}, ""},
		{"shm-size bad", []string{"--shm-size", "lots"}, spec.RunOptions{}, "--shm-size"},
		{"pids-limit", []string{"--pids-limit", "64"}, spec.RunOptions{PidsLimit: 64}, ""},
		{"caps", []string{"--cap-add", "cap_sys_admin", "--cap-drop", "NET_RAW"}, spec.RunOptions{CapAdd: []string{"SYS_ADMIN"}, CapDrop: []string{"NET_RAW"}}, ""},
		{"cap all", []string{"--cap-drop", "all"}, spec.RunOptions{CapDrop: []string{"ALL"}}, ""},
		{"cap unknown", []string{"--cap-add", "FLY"}, spec.RunOptions{}, `unknown capability: "FLY"`},
		{"privileged", []string{"--privileged"}, spec.RunOptions{Privileged: true}, ""},
		{"no-new-privileges", []string{"--security-opt", "no-new-privileges"}, spec.RunOptions{SecurityOpt: []string{"no-new-privileges"}}, ""},
		{"seccomp refused", []string{"--security-opt", "seccomp=unconfined"}, spec.RunOptions{}, "only no-new-privileges"},
		{"group-add", []string{"--group-add", "audio", "--group-add", "1234"}, spec.RunOptions{GroupAdd: []string{"audio", "1234"}}, ""},
		{"domainname", []string{"--domainname", "example.org"}, spec.RunOptions{Domainname: "example.org"}, ""},
		{"domainname bad", []string{"--domainname", "a b"}, spec.RunOptions{}, "--domainname"},
		{"dns search and options", []string{"--dns-search", "example.org", "--dns-option", "ndots:2"},
			spec.RunOptions{DNSSearch: []string{"example.org"}, DNSOptions: []string{"ndots:2"}}, ""},
		{"dns option with a space", []string{"--dns-option", "ndots:2 rotate"}, spec.RunOptions{}, "--dns-option"},
		{"expose", []string{"--expose", "80", "--expose", "53/udp", "--expose", "8000-8001"},
			spec.RunOptions{Expose: []string{"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}}, ""},
		{"expose bad", []string{"--expose", "http"}, spec.RunOptions{}, "--expose"},
		{"recorded", []string{"--cpuset-cpus", "0-1,3", "--cpu-shares", "512", "--memory-reservation", "200m", "-m", "512m", "--memory-swap", "1g"},
			spec.RunOptions{CPUSet: "0-1,3", CPUShares: 512, MemReservation: 200 << 20, MemSwap: 1 << 30}, ""},
		{"cpuset bad", []string{"--cpuset-cpus", "3-1"}, spec.RunOptions{}, "cpuset"},
		{"swap without memory", []string{"--memory-swap", "1g"}, spec.RunOptions{}, "memory limit"},
		{"swap under memory", []string{"-m", "512m", "--memory-swap", "256m"}, spec.RunOptions{}, "larger than memory"},
		{"log driver", []string{"--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=3"},
			spec.RunOptions{Logging: &spec.Logging{Driver: "json-file", Options: map[string]string{"max-size": "1m", "max-file": "3"}}}, ""},
		{"log none", []string{"--log-driver", "none"}, spec.RunOptions{Logging: &spec.Logging{Driver: "none"}}, ""},
		{"log driver refused", []string{"--log-driver", "syslog"}, spec.RunOptions{}, `log driver "syslog" is not taken`},
		{"log opt refused", []string{"--log-opt", "tag=x"}, spec.RunOptions{}, `log option "tag"`},
		{"log max-size bad", []string{"--log-opt", "max-size=big"}, spec.RunOptions{}, "max-size=big"},
		{"device refused", []string{"--device", "/dev/kvm"}, spec.RunOptions{}, "--device is not supported: a box is a virtual machine"},
		{"gpus refused", []string{"--gpus", "all"}, spec.RunOptions{}, "--gpus is not supported"},
		{"mac refused", []string{"--mac-address", "02:42:ac:11:00:02"}, spec.RunOptions{}, "--mac-address is not supported"},
		{"pid refused", []string{"--pid", "host"}, spec.RunOptions{}, "--pid is not supported: a box is a virtual machine with its own kernel: it shares no namespace"},
		{"init refused", []string{"--init"}, spec.RunOptions{}, "--init is not supported: a box's main process is never PID 1"},
		{"oom-kill-disable refused", []string{"--oom-kill-disable"}, spec.RunOptions{}, "--oom-kill-disable is not supported"},
		{"cpu-quota refused", []string{"--cpu-quota", "50000"}, spec.RunOptions{}, "capped with --cpus"},
		{"platform", []string{"--platform", "linux/amd64"}, spec.RunOptions{}, ""},
		{"platform refused", []string{"--platform", "linux/arm64"}, spec.RunOptions{}, "--platform linux/arm64 is not supported"},
		{"pull", []string{"--pull", "never", "-q"}, spec.RunOptions{}, ""},
		{"pull bad", []string{"--pull", "sometimes"}, spec.RunOptions{}, "invalid pull option"},
		{"attach", []string{"-a", "stdout", "-a", "STDERR"}, spec.RunOptions{}, ""},
		{"attach bad", []string{"-a", "stdlog"}, spec.RunOptions{}, "valid streams"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, err := parseRunFlags(t, tt.args...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("err %q is not one line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.RunOptions, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", b.RunOptions, tt.want)
			}
		})
	}
	t.Run("label-file", func(t *testing.T) {
		b, _, err := parseRunFlags(t, "--label-file", labels, "-l", "a=flag")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"a": "flag", "b": "file", "flag": ""}; !reflect.DeepEqual(b.Labels, want) {
			t.Fatalf("labels %v, want %v", b.Labels, want)
		}
	})
}

func TestCapabilitySet(t *testing.T) {
	tests := []struct {
		name string
		o    spec.RunOptions
		want []string
	}{
		{"default", spec.RunOptions{}, spec.DefaultCapabilities},
		{"drop and add", spec.RunOptions{CapAdd: []string{"SYS_ADMIN"}, CapDrop: []string{"NET_RAW", "MKNOD"}},
			[]string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "SYS_ADMIN", "AUDIT_WRITE", "SETFCAP"}},
		{"drop all add one", spec.RunOptions{CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}, []string{"KILL"}},
		{"add all", spec.RunOptions{CapAdd: []string{"ALL"}}, spec.Capabilities},
		{"privileged", spec.RunOptions{Privileged: true, CapDrop: []string{"ALL"}}, spec.Capabilities},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.o.CapabilitySet()
			want := slicesSortedByKernel(tt.want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	}
}

// slicesSortedByKernel orders capability names by their numbers.
func slicesSortedByKernel(names []string) []string {
	var out []string
	for _, c := range spec.Capabilities {
		for _, n := range names {
			if n == c {
				out = append(out, c)
			}
		}
	}
	return out
}
