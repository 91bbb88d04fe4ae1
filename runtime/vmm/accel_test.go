package vmm

import (
	"errors"
	"strings"
	"testing"
)

func TestDetectAccel(t *testing.T) {
	const vmx = "processor\t: 0\nflags\t\t: fpu vme vmx sse\n"
	const plain = "processor\t: 0\nflags\t\t: fpu vme sse\n"
	tests := []struct {
		name    string
		kvmErr  error
		modules []string
		cpuinfo string
		want    string
		reason  string
	}{
		{"no device", errors.New("no such file"), nil, vmx, AccelTCG, "not usable"},
		{"pvm", nil, []string{"kvm_pvm"}, plain, AccelTCG, "kvm_pvm"},
		{"no module", nil, nil, vmx, AccelTCG, "no kvm_intel"},
		{"module without flags", nil, []string{"kvm_intel"}, plain, AccelTCG, "no vmx/svm"},
		{"intel", nil, []string{"kvm_intel"}, vmx, AccelKVM, "kvm_intel"},
		{"amd", nil, []string{"kvm_amd"}, "flags : svm\n", AccelKVM, "kvm_amd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hostProbe{
				readFile: func(string) ([]byte, error) { return []byte(tt.cpuinfo), nil },
				openRW:   func(string) error { return tt.kvmErr },
				exists: func(p string) bool {
					for _, m := range tt.modules {
						if p == "/sys/module/"+m {
							return true
						}
					}
					return false
				},
			}
			got := detectAccel(h)
			if got.Name != tt.want || !strings.Contains(got.Reason, tt.reason) {
				t.Fatalf("got %+v, want %s (%s)", got, tt.want, tt.reason)
			}
		})
	}
}

func TestChooseAccel(t *testing.T) {
	a, err := ChooseAccel("tcg", "--accel")
	if err != nil || a.Name != AccelTCG || a.Reason != "set by --accel" {
		t.Fatalf("got %+v, %v", a, err)
	}
	if _, err := ChooseAccel("hvf", "A3S_BOX_ACCEL"); err == nil || !strings.Contains(err.Error(), "A3S_BOX_ACCEL") {
		t.Fatalf("bad override not named: %v", err)
	}
}
