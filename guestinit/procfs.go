package main

import (
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// frameBudget is about how many bytes of JSON one ProcData frame may
// carry: well under proto.MaxPayload once []byte fields grow by a third
// in base64. A variable for tests.
var frameBudget = 512 << 10

// serveProcRequest answers a ProcRequest with the raw files asked for, in
// as many ProcData frames as it takes. Nothing is parsed here: the host
// does that, so the guest side stays a reader of files.
func serveProcRequest(st net.Conn, f proto.Frame) {
	var req proto.ProcRequest
	if err := f.Decode(&req); err != nil {
		_ = proto.WriteMessage(st, &proto.Error{Message: err.Error()})
		return
	}
	part := &proto.ProcData{Files: map[string][]byte{}}
	size := 0
	flush := func(more bool) error {
		part.More = more
		err := proto.WriteMessage(st, part)
		part, size = &proto.ProcData{}, 0
		return err
	}
	for _, p := range req.Files {
		b, err := readCapped(p, proto.MaxProcFile)
		if err != nil {
			continue
		}
		if cost := len(b)*4/3 + len(p) + 16; size > 0 && size+cost > frameBudget {
			if flush(true) != nil {
				return
			}
			part.Files = map[string][]byte{}
		}
		part.Files[p] = b
		size += len(b)*4/3 + len(p) + 16
	}
	if req.Procs {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid <= 0 {
				continue
			}
			pf, ok := readProc(pid, req.Cmdline)
			if !ok {
				continue // ended meanwhile
			}
			cost := (len(pf.Stat)+len(pf.Cmdline))*4/3 + 64
			if size > 0 && size+cost > frameBudget {
				if flush(true) != nil {
					return
				}
			}
			part.Procs = append(part.Procs, pf)
			size += cost
		}
	}
	_ = flush(false)
}

// readProc reads one process's files; ok is false when it is gone.
func readProc(pid int, cmdline bool) (proto.ProcFiles, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	var fi syscall.Stat_t
	if err := syscall.Stat(dir, &fi); err != nil {
		return proto.ProcFiles{}, false
	}
	stat, err := readCapped(dir+"/stat", 4<<10)
	if err != nil {
		return proto.ProcFiles{}, false
	}
	pf := proto.ProcFiles{PID: pid, UID: fi.Uid, GID: fi.Gid, Stat: stat}
	if cmdline {
		pf.Cmdline, _ = readCapped(dir+"/cmdline", proto.MaxCmdline)
	}
	return pf, true
}

// readCapped reads at most max bytes of a file: /proc files report no
// size, and a box may put anything at a path it is asked for.
func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}
