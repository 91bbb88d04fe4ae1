package vmm

import (
	"fmt"
	"os"
	"strings"
)

// Accelerators a box can run under.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// Accel is the accelerator chosen for boxes and why.
type Accel struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// hostProbe is what acceleration detection reads from the host; tests
// replace it.
type hostProbe struct {
	readFile func(string) ([]byte, error)
	openRW   func(string) error
	exists   func(string) bool
}

var realHost = hostProbe{
	readFile: os.ReadFile,
	openRW: func(p string) error {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err == nil {
			f.Close()
		}
		return err
	},
	exists: func(p string) bool { _, err := os.Stat(p); return err == nil },
}

// DetectAccel picks kvm only where hardware virtualisation really works:
// /dev/kvm usable, a hardware KVM module (kvm_intel or kvm_amd) loaded and
// vmx or svm in the CPU flags. A /dev/kvm alone is not enough: nested
// paravirtual KVM (kvm_pvm) answers the API but cannot run a Linux guest.
func DetectAccel() Accel { return detectAccel(realHost) }

func detectAccel(h hostProbe) Accel {
	if err := h.openRW("/dev/kvm"); err != nil {
		return Accel{AccelTCG, fmt.Sprintf("/dev/kvm not usable (%v)", err)}
	}
	module := ""
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if h.exists("/sys/module/" + m) {
			module = m
			break
		}
	}
	if module == "" {
		other := "no kvm_intel or kvm_amd module"
		if h.exists("/sys/module/kvm_pvm") {
			other = "/dev/kvm is kvm_pvm (paravirtual nested KVM), not hardware virtualisation"
		}
		return Accel{AccelTCG, other}
	}
	cpuinfo, err := h.readFile("/proc/cpuinfo")
	if err != nil || !hasCPUFlag(string(cpuinfo), "vmx", "svm") {
		return Accel{AccelTCG, module + " loaded but the CPU shows no vmx/svm"}
	}
	return Accel{AccelKVM, "hardware virtualisation via " + module}
}

func hasCPUFlag(cpuinfo string, flags ...string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			for _, want := range flags {
				if f == want {
					return true
				}
			}
		}
	}
	return false
}

// ChooseAccel applies an explicit override (from a flag, the environment or
// the config file, named by source) or detects.
func ChooseAccel(override, source string) (Accel, error) {
	switch override {
	case "", "auto":
		return DetectAccel(), nil
	case AccelKVM, AccelTCG:
		return Accel{override, "set by " + source}, nil
	}
	return Accel{}, fmt.Errorf("unknown accelerator %q from %s: use kvm, tcg or auto", override, source)
}
