package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/a3s-box/a3s-box/runtime"
)

// vmmOf is the running box's QEMU process, from its state file.
func vmmOf(t *testing.T, root, name string) (pid int, id string) {
	t.Helper()
	id = strings.TrimSpace(ok(t, root, "inspect", "--format", "{{.Id}}", name))
	b, err := os.ReadFile(filepath.Join(root, "boxes", id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st runtime.BoxState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.VMMPID == 0 {
		t.Fatalf("box %s has no VMM PID in its state", name)
	}
	return st.VMMPID, id
}

// procStatus is the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, found := strings.Cut(line, ":"); found {
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

// TestVMMJail checks the VMM of a running box from the host: its own
// unprivileged user, no capabilities (three file ones with a bind
// mount), no_new_privs, seccomp, and no way to another box's disk; and
// that a guest root cannot plant a set-id file or a device node in a
// bind-mounted host directory.
func TestVMMJail(t *testing.T) {
	needE2E(t)
	root := e2e.root
	host := t.TempDir()
	owned := filepath.Join(host, "owned")
	if err := os.WriteFile(owned, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file a host user owns: the reproduced attack made it setuid root.
	if err := os.Chown(owned, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	ok(t, root, "run", "-d", "--name", "jail-plain", e2e.image, "sleep", "600")
	defer a3s(t, "rm", "-f", "jail-plain")
	ok(t, root, "run", "-d", "--name", "jail-bind", "-v", host+":/data", e2e.image, "sleep", "600")
	defer a3s(t, "rm", "-f", "jail-bind")

	plain, plainID := vmmOf(t, root, "jail-plain")
	bind, bindID := vmmOf(t, root, "jail-bind")
	ps, bs := procStatus(t, plain), procStatus(t, bind)
	for _, c := range []struct {
		name string
		st   map[string]string
		caps string
	}{
		{"plain box", ps, "0000000000000000"},
		// CAP_CHOWN, CAP_DAC_OVERRIDE and CAP_FOWNER for its 9p server.
		{"box with a bind mount", bs, "000000000000000b"},
	} {
		uid := strings.Fields(c.st["Uid"])
		if len(uid) != 4 {
			t.Fatalf("%s: Uid %q", c.name, c.st["Uid"])
		}
		for _, u := range uid {
			if n, _ := strconv.Atoi(u); n < runtime.VMMUIDBase || n >= runtime.VMMUIDBase+runtime.VMMUsers {
				t.Errorf("%s: QEMU runs as uid %s, want a VMM user", c.name, u)
			}
		}
		if c.st["Groups"] != "" {
			t.Errorf("%s: QEMU has groups %q under TCG, want none", c.name, c.st["Groups"])
		}
		for _, k := range []string{"CapEff", "CapPrm"} {
			if c.st[k] != c.caps {
				t.Errorf("%s: QEMU %s %s, want %s", c.name, k, c.st[k], c.caps)
			}
		}
		if c.st["NoNewPrivs"] != "1" || c.st["Seccomp"] != "2" {
			t.Errorf("%s: QEMU NoNewPrivs %s Seccomp %s, want 1 and 2", c.name, c.st["NoNewPrivs"], c.st["Seccomp"])
		}
	}
	if ps["Uid"] == bs["Uid"] {
		t.Errorf("two boxes' QEMUs share uid %s", ps["Uid"])
	}

	// With the plain box's QEMU's credentials, the other box's disks and
	// state cannot be opened; its descriptors name only its own box.
	uid, _ := strconv.Atoi(strings.Fields(ps["Uid"])[0])
	gid, _ := strconv.Atoi(strings.Fields(ps["Gid"])[0])
	for _, p := range []string{
		filepath.Join(root, "boxes", bindID, "rw.ext4"),
		filepath.Join(root, "boxes", bindID, "config.json"),
		filepath.Join(root, "boxes", plainID, "rw.ext4"),
	} {
		cat := exec.Command("cat", p)
		cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
		var errb bytes.Buffer
		cat.Stdout, cat.Stderr = nil, &errb
		if err := cat.Run(); err == nil || !strings.Contains(errb.String(), "Permission denied") {
			t.Errorf("as the VMM's user, cat %s: %v %q, want permission denied", p, err, errb.String())
		}
	}
	fds, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(plain), "fd"))
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(plain), "fd", fd.Name()))
		if strings.Contains(target, bindID) || strings.Contains(target, bindID[:12]) {
			t.Errorf("plain box's QEMU holds %s of the other box", target)
		}
	}
	// The VMM that may override permissions sees none of a3s-box's state.
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(bind), "root", root, "boxes")); err == nil {
		t.Errorf("QEMU of the box with a bind mount sees %s/boxes", root)
	}

	// The guest's root tries to plant set-id files and devices on the host.
	attack := strings.Join([]string{
		"cd /data",
		"echo x > planted; chown 0:0 planted; chmod 4755 planted && echo planted-setuid",
		"chmod 4755 owned && echo owned-setuid",
		"chmod 2755 owned && echo owned-setgid",
		"chown 0:0 owned",
		"echo x > /tmp/s; chmod 4755 /tmp/s; cp -p /tmp/s copied && echo copied-setuid",
		"mknod null c 1 3 && echo made-char",
		"mknod sda b 8 0 && echo made-block",
		"ls -ln /data",
	}, "; ")
	r := a3s(t, "exec", "jail-bind", "sh", "-c", attack)
	t.Logf("guest: %s %s", r.stdout, r.stderr)
	for _, bad := range []string{"planted-setuid", "owned-setuid", "owned-setgid", "copied-setuid", "made-char", "made-block"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("guest reports %s", bad)
		}
	}
	_ = filepath.Walk(host, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("host has a set-id file planted by the guest: %s %v", p, fi.Mode())
		}
		if fi.Mode()&os.ModeDevice != 0 {
			t.Errorf("host has a device node made by the guest: %s %v", p, fi.Mode())
		}
		return nil
	})
	if fi, err := os.Stat(filepath.Join(host, "planted")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the guest's ordinary write did not reach the host: %v", err)
	}
}
