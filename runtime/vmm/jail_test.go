package vmm

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestJailExec runs a program through the jail as QEMU is run: it
// executes with the jail's arguments, and with no_new_privs and the
// filter in force (its own /proc status says so).
func TestJailExec(t *testing.T) {
	cmd, err := jailCommand("cat", []string{"/proc/self/status"}, &Machine{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jailed cat: %v", err)
	}
	for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("jailed process status lacks %q:\n%s", want, out)
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	chmod, err := jailCommand("chmod", []string{"4755", f.Name()}, &Machine{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := chmod.CombinedOutput(); err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("jailed chmod 4755: %v %s, want operation not permitted", err, out)
	}
	if fi, _ := os.Stat(f.Name()); fi.Mode()&os.ModeSetuid != 0 {
		t.Error("jailed chmod made a setuid file")
	}
}

// BenchmarkStart is what the jail adds to starting the VMM: one more
// exec, of a3s-box's own binary (here the test binary), before QEMU's.
func BenchmarkStart(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jailed", func(b *testing.B) {
		for b.Loop() {
			cmd, err := jailCommand("true", nil, &Machine{})
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
