package vmm

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data as the filter sees it. bpf.VM loads
// words big-endian, where the kernel loads them in the host's order, so
// the test writes each word big-endian.
func seccompData(arch, nr uint32, args ...uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[seccompNR:], nr)
	binary.BigEndian.PutUint32(b[seccompArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[seccompArg(i):], a)
	}
	return b
}

func TestVMMFilter(t *testing.T) {
	raw, err := vmmFilter()
	if err != nil {
		t.Fatal(err)
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		x86    = auditArchX8664
	)
	creat := uint32(unix.O_WRONLY | unix.O_CREAT)
	for _, c := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"chmod 0755", seccompData(x86, unix.SYS_CHMOD, 0, 0o755), allow},
		{"chmod 4755", seccompData(x86, unix.SYS_CHMOD, 0, 0o4755), eperm},
		{"fchmod 2755", seccompData(x86, unix.SYS_FCHMOD, 3, 0o2755), eperm},
		{"fchmod 1777", seccompData(x86, unix.SYS_FCHMOD, 3, 0o1777), allow},
		{"fchmodat 6755", seccompData(x86, unix.SYS_FCHMODAT, 3, 0, 0o6755), eperm},
		{"fchmodat 0644", seccompData(x86, unix.SYS_FCHMODAT, 3, 0, 0o644), allow},
		{"fchmodat2 4755", seccompData(x86, unix.SYS_FCHMODAT2, 3, 0, 0o4755, 0), eperm},
		{"creat 4755", seccompData(x86, unix.SYS_CREAT, 0, 0o4755), eperm},
		{"open O_CREAT 4755", seccompData(x86, unix.SYS_OPEN, 0, creat, 0o4755), eperm},
		{"open O_CREAT 0644", seccompData(x86, unix.SYS_OPEN, 0, creat, 0o644), allow},
		{"open no O_CREAT, junk mode", seccompData(x86, unix.SYS_OPEN, 0, unix.O_RDONLY, 0o4755), allow},
		{"openat O_CREAT 2755", seccompData(x86, unix.SYS_OPENAT, 3, 0, creat, 0o2755), eperm},
		{"openat O_TMPFILE 4755", seccompData(x86, unix.SYS_OPENAT, 3, 0, unix.O_TMPFILE|unix.O_RDWR, 0o4755), eperm},
		{"openat O_CREAT 0600", seccompData(x86, unix.SYS_OPENAT, 3, 0, creat, 0o600), allow},
		{"mknod char", seccompData(x86, unix.SYS_MKNOD, 0, unix.S_IFCHR|0o666, 0x103), eperm},
		{"mknodat block", seccompData(x86, unix.SYS_MKNODAT, 3, 0, unix.S_IFBLK|0o600, 0x800), eperm},
		{"mknodat fifo", seccompData(x86, unix.SYS_MKNODAT, 3, 0, unix.S_IFIFO|0o600, 0), allow},
		{"mknod socket", seccompData(x86, unix.SYS_MKNOD, 0, unix.S_IFSOCK|0o600, 0), allow},
		{"openat2", seccompData(x86, unix.SYS_OPENAT2, 3, 0, 0, 24), enosys},
		{"ptrace", seccompData(x86, unix.SYS_PTRACE, 16, 1234), eperm},
		{"process_vm_writev", seccompData(x86, unix.SYS_PROCESS_VM_WRITEV, 1234), eperm},
		{"read", seccompData(x86, unix.SYS_READ, 0, 0, 10), allow},
		{"i386 ABI", seccompData(0x40000003, 15, 0, 0o4755), enosys},
		{"x32 ABI", seccompData(x86, x32SyscallBit|unix.SYS_CHMOD, 0, 0o4755), enosys},
	} {
		got, err := vm.Run(c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if uint32(got) != c.want {
			t.Errorf("%s: filter returns %#x, want %#x", c.name, got, c.want)
		}
	}
}
