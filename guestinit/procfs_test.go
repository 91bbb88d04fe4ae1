package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// TestServeProcRequest answers a request from this machine's /proc with a
// small frame budget, so the answer comes in several parts, each within
// the budget, the last with More false.
func TestServeProcRequest(t *testing.T) {
	old := frameBudget
	frameBudget = 2 << 10
	t.Cleanup(func() { frameBudget = old })
	big := filepath.Join(t.TempDir(), "big")
	must(t, os.WriteFile(big, bytes.Repeat([]byte("x"), proto.MaxProcFile+10), 0o644))

	host, guest := net.Pipe()
	go func() {
		f, err := proto.ReadFrame(guest)
		if err == nil {
			serveProcRequest(guest, f)
		}
		guest.Close()
	}()
	req := &proto.ProcRequest{Files: []string{"/proc/meminfo", "/no/such/file", big}, Procs: true, Cmdline: true}
	must(t, proto.WriteMessage(host, req))
	files := map[string][]byte{}
	var procs []proto.ProcFiles
	parts := 0
	for {
		var d proto.ProcData
		f, err := proto.ReadFrame(host)
		must(t, err)
		must(t, f.Decode(&d))
		parts++
		for k, v := range d.Files {
			files[k] = v
		}
		procs = append(procs, d.Procs...)
		if !d.More {
			break
		}
	}
	if parts < 3 {
		t.Errorf("%d parts; want the answer split", parts)
	}
	if !strings.HasPrefix(string(files["/proc/meminfo"]), "MemTotal:") {
		t.Errorf("meminfo %q", files["/proc/meminfo"])
	}
	if _, ok := files["/no/such/file"]; ok {
		t.Error("a missing file was answered")
	}
	if len(files[big]) != proto.MaxProcFile {
		t.Errorf("a big file came back with %d bytes, want it cut at %d", len(files[big]), proto.MaxProcFile)
	}
	self := false
	for _, p := range procs {
		if p.PID == os.Getpid() {
			self = bytes.HasPrefix(p.Stat, []byte(strconv.Itoa(p.PID)+" (")) &&
				bytes.HasPrefix(p.Cmdline, []byte(os.Args[0]+"\x00")) && p.UID == uint32(os.Geteuid())
		}
	}
	if !self {
		t.Errorf("this process is not among the %d answered, with its command line and user", len(procs))
	}
}

func TestServeProcRequestBadRequest(t *testing.T) {
	host, guest := net.Pipe()
	go func() {
		serveProcRequest(guest, proto.Frame{Type: proto.TypeProcRequest, Payload: []byte("{not json")})
		guest.Close()
	}()
	var d proto.ProcData
	err := proto.ReadMessage(host, &d)
	if _, ok := err.(*proto.Error); !ok {
		t.Fatalf("err = %v, want the guest's error", err)
	}
}
