package main

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// TestMain lets the test binary be the exec shim, as guestinit's binary
// is in the guest: startBoxProcess runs /proc/self/exe.
func TestMain(m *testing.M) {
	if os.Args[0] == shimArg0 {
		runShim()
	}
	os.Exit(m.Run())
}

// The shim sets the bounding set, limits and no_new_privs, then runs the
// command; a command that cannot run keeps Docker's exit codes.
func TestExecShim(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the shim changes capabilities and users: needs root")
	}
	g := &guest{reaper: newReaper()}
	go g.reaper.run()
	run := func(ex *proto.Exec, path string) (string, error) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		null, _ := os.Open(os.DevNull)
		defer null.Close()
		attr := &os.ProcAttr{Env: []string{"PATH=/usr/bin:/bin"}, Files: []*os.File{null, w, w},
			Sys: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 0}}}
		p, wait, err := g.startBoxProcess(ex, path, attr)
		w.Close()
		if err != nil {
			return "", err
		}
		out := new(strings.Builder)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		<-wait
		p.Release()
		return out.String(), nil
	}
	sh := "/bin/sh"
	ex := &proto.Exec{Args: []string{"sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status; ulimit -n; ulimit -Hn"},
		Caps: []string{"KILL", "CHOWN"}, NoNewPrivs: true, Rlimits: []proto.Rlimit{{Name: "nofile", Soft: 100, Hard: 200}}}
	out, err := run(ex, sh)
	if err != nil {
		t.Fatal(err)
	}
	want := "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\nNoNewPrivs:\t1\n100\n200\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// An empty set is none at all; a non-root user has none in effect.
	ex = &proto.Exec{Args: []string{"sh", "-c", "grep -E '^(CapBnd|CapEff)' /proc/self/status; id -u"}, Caps: []string{}}
	if out, err := run(ex, sh); err != nil || out != "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n0\n" {
		t.Errorf("no capabilities: %q, %v", out, err)
	}
	// A file that cannot be executed comes back as execve's error.
	plain := t.TempDir() + "/plain"
	if err := os.WriteFile(plain, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run(&proto.Exec{Args: []string{"x"}, Caps: []string{}}, plain)
	if se, ok := classifyStart("x", err).(*startError); !ok || se.code != 126 || !strings.Contains(se.msg, "permission denied") {
		t.Errorf("not executable: %v", err)
	}
	_, err = run(&proto.Exec{Args: []string{"x"}, Rlimits: []proto.Rlimit{{Name: "nofile", Soft: 1 << 40, Hard: 1 << 40}}}, sh)
	if err == nil || !strings.Contains(err.Error(), "set ulimit nofile") {
		t.Errorf("a limit beyond the kernel's: %v", err)
	}
}
