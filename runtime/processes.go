package runtime

import (
	"context"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/host"
	"github.com/a3s-box/a3s-box/runtime/procfs"
)

// `top` and `stats` read a running box's guest: the CLI asks the box's
// supervisor for a stream of the guest session (op "proc"), sends a
// ProcRequest and parses the raw /proc files that come back. CPU time is
// the exception: stats takes it from the VMM process on the host (see
// Usage).

// procAnswerMax bounds what the host accepts from one guest answer, so a
// hostile guest cannot make it allocate without limit.
const procAnswerMax = 64 << 20

// procAnswerProcs and procAnswerFiles bound the entries of one answer:
// an empty entry ({}) costs the guest three bytes and the host a whole
// struct, so a byte bound alone lets 64 MiB of them grow past a gigabyte.
// A guest's PIDs stop at pid_max (32768 by default on small machines);
// the host asks for a handful of files.
const (
	procAnswerProcs = 1 << 16
	procAnswerFiles = 64
)

// procTimeout bounds a guest's answer: a busy guest under emulation may
// be slow, a hung one must not hang the CLI.
const procTimeout = 15 * time.Second

// BoxProcess is one process of a box.
type BoxProcess struct {
	procfs.ProcStat
	UID  uint32   `json:"uid"`
	GID  uint32   `json:"gid"`
	Args []string `json:"args,omitempty"` // empty for a zombie
}

// ProcessTable is a box's processes at one moment, as `top` shows them.
type ProcessTable struct {
	// Processes are ordered by PID. guestinit (PID 1, the VM's init) and
	// kernel threads are left out: they are the VM's, not the box's.
	Processes []BoxProcess
	Boot      time.Time // when the guest booted, by its clock
	Uptime    uint64    // clock ticks since the guest booted, when read
	MemTotal  uint64    // bytes
	Users     map[uint32]string
	Groups    map[uint32]string
}

// guest files the answers are made of.
const (
	fileStat      = "/proc/stat"
	fileUptime    = "/proc/uptime"
	fileMeminfo   = "/proc/meminfo"
	fileNetDev    = "/proc/net/dev"
	fileDiskstats = "/proc/diskstats"
	filePasswd    = "/etc/passwd"
	fileGroup     = "/etc/group"
)

// Top reads running box id's processes.
func (r *Runtime) Top(ctx context.Context, id string) (*ProcessTable, error) {
	d, err := r.readProc(ctx, id, &proto.ProcRequest{
		Files: []string{fileStat, fileUptime, fileMeminfo, filePasswd, fileGroup},
		Procs: true, Cmdline: true,
	})
	if err != nil {
		return nil, err
	}
	return parseProcessTable(d)
}

// parseProcessTable makes a ProcessTable of a guest's answer.
func parseProcessTable(d *proto.ProcData) (*ProcessTable, error) {
	boot, err := procfs.ParseBootTime(d.Files[fileStat])
	if err != nil {
		return nil, err
	}
	up, err := procfs.ParseUptime(d.Files[fileUptime])
	if err != nil {
		return nil, err
	}
	mem, err := procfs.ParseMeminfo(d.Files[fileMeminfo])
	if err != nil {
		return nil, err
	}
	procs, err := boxProcesses(d.Procs)
	if err != nil {
		return nil, err
	}
	return &ProcessTable{
		Processes: procs, Boot: time.Unix(boot, 0), Uptime: up, MemTotal: mem.Total,
		Users: procfs.ParseIDNames(d.Files[filePasswd]), Groups: procfs.ParseIDNames(d.Files[fileGroup]),
	}, nil
}

// boxProcesses parses the processes' files, leaving out guestinit and
// kernel threads, ordered by PID.
func boxProcesses(files []proto.ProcFiles) ([]BoxProcess, error) {
	out := make([]BoxProcess, 0, len(files))
	for _, f := range files {
		st, err := procfs.ParseProcStat(f.Stat)
		if err != nil {
			return nil, fmt.Errorf("process %d: %w", f.PID, err)
		}
		if st.PID != f.PID {
			return nil, fmt.Errorf("process %d: stat names process %d", f.PID, st.PID)
		}
		if st.PID == 1 || st.Kernel() {
			continue
		}
		out = append(out, BoxProcess{ProcStat: st, UID: f.UID, GID: f.GID, Args: procfs.SplitCmdline(f.Cmdline)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// Usage is a box's resource use at one moment as its guest sees it, for
// `stats`; CPUTime gives the CPU time, from the host.
type Usage struct {
	// Memory is the guest's view of its memory; Limit is what the box
	// has now: its boot memory, or less while a balloon holds some.
	Memory procfs.MemInfo
	Limit  int64
	// Bytes through the guest's network interfaces (not loopback) and
	// its disks.
	NetRx, NetTx          uint64
	BlockRead, BlockWrite uint64
	// PIDs counts the box's tasks (threads of its processes), as a
	// cgroup's pids.current does.
	PIDs int
}

// Usage reads running box id's resource use.
func (r *Runtime) Usage(ctx context.Context, id string) (*Usage, error) {
	b, err := r.readBox(id)
	if err != nil {
		return nil, err
	}
	if !b.State.Running() {
		return nil, fmt.Errorf("box %s is not running", b.Name)
	}
	d, err := r.readProc(ctx, id, &proto.ProcRequest{
		Files: []string{fileMeminfo, fileNetDev, fileDiskstats}, Procs: true,
	})
	if err != nil {
		return nil, err
	}
	u, err := parseUsage(d)
	if err != nil {
		return nil, err
	}
	u.Limit = b.State.Memory
	if u.Limit == 0 {
		_, mem, _ := resources(&b.Spec)
		u.Limit = int64(mem) << 20
	}
	return u, nil
}

// parseUsage reads the guest's part of a Usage from its answer.
func parseUsage(d *proto.ProcData) (*Usage, error) {
	var u Usage
	var err error
	if u.Memory, err = procfs.ParseMeminfo(d.Files[fileMeminfo]); err != nil {
		return nil, err
	}
	if u.NetRx, u.NetTx, err = procfs.ParseNetDev(d.Files[fileNetDev]); err != nil {
		return nil, err
	}
	if u.BlockRead, u.BlockWrite, err = procfs.ParseDiskstats(d.Files[fileDiskstats]); err != nil {
		return nil, err
	}
	procs, err := boxProcesses(d.Procs)
	if err != nil {
		return nil, err
	}
	for _, p := range procs {
		u.PIDs += int(max(p.Threads, 1))
	}
	return &u, nil
}

// CPUTime is the CPU time box b's VMM process has used on the host, as
// b's state (read just before) names that process. stats shows this
// rather than the guest's own accounting: it is what the box costs the
// host, emulation included, it sees the cap of --cpus (a guest under
// TCG has no steal time, so its own clock counts a throttled vCPU as
// busy), and a paused box shows none.
func (r *Runtime) CPUTime(b *Box) (time.Duration, error) {
	t, err := host.VMMCPUTime(b.State.VMMPID, b.State.VMMStart)
	if err != nil {
		return 0, fmt.Errorf("box %s: %w", b.Name, err)
	}
	return t, nil
}

// readProc sends req on a new stream of running box id's guest session
// and gathers the answer's parts.
func (r *Runtime) readProc(ctx context.Context, id string, req *proto.ProcRequest) (*proto.ProcData, error) {
	ctx, cancel := context.WithTimeout(ctx, procTimeout)
	defer cancel()
	conn, _, err := r.call(ctx, id, &supRequest{Op: "proc"})
	if err != nil {
		if err == ErrNotRunning {
			return nil, fmt.Errorf("box %s is not running", id[:12])
		}
		return nil, err
	}
	defer conn.Close()
	stop := closeOnDone(ctx, conn)
	defer stop()
	d, err := gatherProcData(conn, req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("read the box's processes: %w", err)
	}
	return d, nil
}

// gatherProcData sends req and joins the ProcData parts that answer it.
func gatherProcData(conn net.Conn, req *proto.ProcRequest) (*proto.ProcData, error) {
	if err := proto.WriteMessage(conn, req); err != nil {
		return nil, err
	}
	all := &proto.ProcData{Files: map[string][]byte{}}
	total := 0
	for {
		f, err := proto.ReadFrame(conn)
		if err != nil {
			return nil, err
		}
		if total += len(f.Payload); total > procAnswerMax {
			return nil, fmt.Errorf("the guest's answer is over %d bytes", procAnswerMax)
		}
		var part proto.ProcData
		if err := f.Decode(&part); err != nil {
			return nil, err
		}
		for k, v := range part.Files {
			all.Files[k] = v
		}
		if len(all.Files) > procAnswerFiles {
			return nil, fmt.Errorf("the guest's answer has over %d files", procAnswerFiles)
		}
		if len(all.Procs)+len(part.Procs) > procAnswerProcs {
			return nil, fmt.Errorf("the guest's answer has over %d processes", procAnswerProcs)
		}
		all.Procs = append(all.Procs, part.Procs...)
		if !part.More {
			return all, nil
		}
	}
}
