package runtime

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// fakeGuest answers the protocol the way guestinit does, for one process.
func fakeGuest(t *testing.T, conn net.Conn, protocol int, handle func(st net.Conn, ex *proto.Exec)) {
	sess, err := proto.Server(conn)
	if err != nil {
		t.Error(err)
		return
	}
	ctl, err := sess.Accept()
	if err != nil {
		return
	}
	var h proto.Hello
	if err := proto.ReadMessage(ctl, &h); err != nil {
		t.Error(err)
		return
	}
	_ = proto.WriteMessage(ctl, &proto.Hello{Protocol: protocol, Kernel: "6.1.0-test"})
	for {
		st, err := sess.Accept()
		if err != nil {
			return
		}
		var ex proto.Exec
		if err := proto.ReadMessage(st, &ex); err != nil {
			t.Error(err)
			return
		}
		handle(st, &ex)
	}
}

func TestGuestExec(t *testing.T) {
	host, guest := net.Pipe()
	go fakeGuest(t, guest, proto.Version, func(st net.Conn, ex *proto.Exec) {
		if ex.Args[0] == "missing" {
			_ = proto.WriteMessage(st, &proto.Exit{Code: 127, Error: `exec: "missing": executable file not found in $PATH`})
			return
		}
		_ = proto.WriteMessage(st, &proto.Started{PID: 7})
		_ = proto.WriteFrame(st, proto.TypeStdout, []byte("out\n"))
		_ = proto.WriteFrame(st, proto.TypeStderr, []byte("err\n"))
		_ = proto.WriteMessage(st, &proto.Exit{Code: 3})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := Handshake(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Hello.Kernel != "6.1.0-test" {
		t.Fatalf("hello = %+v", g.Hello)
	}
	var out, errb bytes.Buffer
	p, err := g.Exec(ctx, &proto.Exec{Args: []string{"sh"}}, ProcessIO{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Code != 3 || out.String() != "out\n" || errb.String() != "err\n" || p.PID != 7 {
		t.Fatalf("exit %+v err %v out %q errb %q", exit, err, out.String(), errb.String())
	}
	_, err = g.Exec(ctx, &proto.Exec{Args: []string{"missing"}}, ProcessIO{})
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 || !strings.Contains(se.Message, "missing") {
		t.Fatalf("err = %v, want a StartError with 127", err)
	}
}

func TestHandshakeVersionMismatch(t *testing.T) {
	host, guest := net.Pipe()
	go fakeGuest(t, guest, proto.Version+1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Handshake(ctx, host); !errors.Is(err, ErrProtocolMismatch) {
		t.Fatalf("err = %v, want ErrProtocolMismatch", err)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	host, guest := net.Pipe()
	defer guest.Close()
	go func() { // a guest that never answers
		buf := make([]byte, 1024)
		for {
			if _, err := guest.Read(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Handshake(ctx, host); err == nil {
		t.Fatal("handshake with a silent guest succeeded")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("handshake ignored its deadline: %s", time.Since(start))
	}
}
