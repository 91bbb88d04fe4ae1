package vmm

import (
	"fmt"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// QEMU's own sandbox (-sandbox on,...) denies whole classes of system
// calls, but it cannot look at arguments the way a3s-box needs: the 9p
// server creates and chmods files on the host for the guest, and a
// guest root that asks for mode 04755 on a bind-mounted host directory
// would plant a set-id file on the host. This filter, installed before
// QEMU is executed, refuses exactly that, whatever QEMU's 9p code does:
//
//   - chmod, fchmod, fchmodat and fchmodat2 with a set-user-ID or
//     set-group-ID bit;
//   - open, openat and creat making a file (O_CREAT or O_TMPFILE) with
//     one of those bits;
//   - mknod and mknodat making a character or block device;
//   - ptrace and process_vm_readv/writev (another VMM of the same user
//     is never a target);
//   - openat2, whose flags sit in a structure a filter cannot read: it
//     fails with ENOSYS, and callers fall back to openat.
//
// Every call from another ABI (i386, x32) fails: QEMU makes none, and a
// filter keyed on x86-64 numbers would not see them.

// Offsets into struct seccomp_data.
const (
	seccompNR   = 0
	seccompArch = 4
)

// seccompArg is the offset of the low 32 bits of argument i.
func seccompArg(i int) uint32 { return 16 + 8*uint32(i) }

const (
	auditArchX8664 = 0xc000003e
	x32SyscallBit  = 0x40000000
	setIDBits      = unix.S_ISUID | unix.S_ISGID
	oTmpfile       = 0o20000000 // __O_TMPFILE, without O_DIRECTORY
)

func retErrno(errno unix.Errno) bpf.RetConstant {
	return bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(errno)}
}

var retAllow = bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}

// seccompRule is what the filter does for one system call: body runs
// with nothing loaded and must end in a return on every path.
type seccompRule struct {
	nr   uint32
	body []bpf.Instruction
}

// setIDMode refuses the call when argument i has a set-id bit.
func setIDMode(i int) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArg(i), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: setIDBits, SkipFalse: 1},
		retErrno(unix.EPERM),
		retAllow,
	}
}

// setIDCreate refuses an open that makes a file (flags in argument
// flags) with a set-id mode (argument mode).
func setIDCreate(flags, mode int) []bpf.Instruction {
	return append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArg(flags), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: unix.O_CREAT | oTmpfile, SkipFalse: 3},
	}, setIDMode(mode)...)
}

// deviceNode refuses a mknod whose mode (argument i) is a character or
// block device; FIFOs, sockets and regular files pass.
func deviceNode(i int) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArg(i), Size: 4},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: unix.S_IFMT},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.S_IFCHR, SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.S_IFBLK, SkipTrue: 1},
		retAllow,
		retErrno(unix.EPERM),
	}
}

func always(errno unix.Errno) []bpf.Instruction {
	return []bpf.Instruction{retErrno(errno)}
}

var vmmRules = []seccompRule{
	{unix.SYS_CHMOD, setIDMode(1)},
	{unix.SYS_FCHMOD, setIDMode(1)},
	{unix.SYS_FCHMODAT, setIDMode(2)},
	{unix.SYS_FCHMODAT2, setIDMode(2)},
	{unix.SYS_CREAT, setIDMode(1)},
	{unix.SYS_OPEN, setIDCreate(1, 2)},
	{unix.SYS_OPENAT, setIDCreate(2, 3)},
	{unix.SYS_MKNOD, deviceNode(1)},
	{unix.SYS_MKNODAT, deviceNode(2)},
	{unix.SYS_OPENAT2, always(unix.ENOSYS)},
	{unix.SYS_PTRACE, always(unix.EPERM)},
	{unix.SYS_PROCESS_VM_READV, always(unix.EPERM)},
	{unix.SYS_PROCESS_VM_WRITEV, always(unix.EPERM)},
}

// vmmFilter assembles the filter: the ABI check, then each rule as a
// test of the call's number that skips over the rule's body.
func vmmFilter() ([]bpf.RawInstruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArchX8664, SkipTrue: 1},
		retErrno(unix.ENOSYS),
		bpf.LoadAbsolute{Off: seccompNR, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsNotSet, Val: x32SyscallBit, SkipTrue: 1},
		retErrno(unix.ENOSYS),
	}
	for _, r := range vmmRules {
		if len(r.body) > 255 {
			return nil, fmt.Errorf("seccomp rule for %d: body too long", r.nr)
		}
		prog = append(prog,
			bpf.LoadAbsolute{Off: seccompNR, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.nr, SkipFalse: uint8(len(r.body))})
		prog = append(prog, r.body...)
	}
	prog = append(prog, retAllow)
	return bpf.Assemble(prog)
}

// installVMMFilter sets no_new_privs and installs the filter on the
// calling thread, which must be the one that goes on to exec QEMU.
func installVMMFilter() error {
	raw, err := vmmFilter()
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, in := range raw {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	return nil
}
