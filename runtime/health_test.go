package runtime

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/hashicorp/yamux"
)

// TestAbandonSilentGuest runs a health command on a guest that starts it
// and then never answers, not even to SIGKILL: abandoning it must end its
// stream's reader on the host, or each interval leaks one.
func TestAbandonSilentGuest(t *testing.T) {
	hc, gc := net.Pipe()
	hs, err := yamux.Client(hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	gs, err := yamux.Server(gc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	go func() { // the guest: start each process, then say nothing
		for {
			st, err := gs.Accept()
			if err != nil {
				return
			}
			if _, err := proto.ReadFrame(st); err != nil {
				return
			}
			if proto.WriteMessage(st, &proto.Started{PID: 7}) != nil {
				return
			}
			go func() { // swallow the host's signal
				for {
					if _, err := proto.ReadFrame(st); err != nil {
						return
					}
				}
			}()
		}
	}()
	before := runtime.NumGoroutine()
	for range 3 {
		st, err := hs.Open()
		if err != nil {
			t.Fatal(err)
		}
		p, err := startProcess(context.Background(), st, &proto.Exec{Args: []string{"sleep", "1000"}}, ProcessIO{})
		if err != nil {
			t.Fatal(err)
		}
		abandon(p)
		select {
		case <-p.Done():
		case <-time.After(time.Second):
			t.Fatal("the process's reader still runs after abandon")
		}
	}
	// The guest's swallowers end when their streams close; allow them.
	time.Sleep(200 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+3 {
		t.Fatalf("%d goroutines before three abandoned checks, %d after", before, after)
	}
}
