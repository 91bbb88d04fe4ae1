package main

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/hashicorp/yamux"
	"golang.org/x/sys/unix"
)

// shutdownGrace bounds how long a guest whose main process has ended waits
// for the host's Shutdown before powering off on its own.
const shutdownGrace = 30 * time.Second

// guest holds what every session with the host shares.
type guest struct {
	reaper   *reaper
	mainDone chan struct{} // closed when the main process has ended
	sess     *yamux.Session
}

// serve answers the host until it asks for shutdown, the main process has
// ended and the host is gone, or the channel breaks.
func serve() error {
	conn, err := openChannel()
	if err != nil {
		return err
	}
	if channelHook != nil {
		conn = channelHook(conn)
	}
	sess, err := proto.Server(conn)
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	ctl, err := sess.Accept()
	if err != nil {
		return fmt.Errorf("accept control stream: %w", err)
	}
	if err := handshake(ctl); err != nil {
		return err
	}
	g := &guest{reaper: newReaper(), mainDone: make(chan struct{}), sess: sess}
	go g.reaper.run()
	go func() {
		for {
			st, err := sess.Accept()
			if err != nil {
				return
			}
			go g.runProcess(st)
		}
	}()
	msgs := make(chan proto.Frame)
	errs := make(chan error, 1)
	go func() {
		for {
			f, err := proto.ReadFrame(ctl)
			if err != nil {
				errs <- err
				return
			}
			msgs <- f
		}
	}()
	var grace <-chan time.Time
	for {
		select {
		case f := <-msgs:
			switch f.Type {
			case proto.TypeSetup:
				reply(ctl, f, g.setup)
			case proto.TypeNetwork:
				replyNetwork(ctl, f)
			case proto.TypeFreeze:
				replyFreeze(ctl, f)
			case proto.TypeShutdown:
				stopAll()
				return nil
			default:
				_ = proto.WriteMessage(ctl, &proto.Error{Message: "unexpected " + f.Type.String() + " on control stream"})
			}
		case err := <-errs:
			if err == io.EOF {
				err = nil
			}
			if grace == nil {
				// The host went away before the box ended: keep the box
				// running, as a box outlives the CLI that started it.
				<-g.mainDone
			}
			stopAll()
			return err
		case <-g.mainDone:
			g.mainDone = nil
			grace = time.After(shutdownGrace)
		case <-grace:
			stopAll()
			return fmt.Errorf("host sent no shutdown within %s of the main process ending", shutdownGrace)
		}
	}
}

func handshake(ctl net.Conn) error {
	var h proto.Hello
	if err := proto.ReadMessage(ctl, &h); err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	if h.Protocol != proto.Version {
		msg := fmt.Sprintf("host speaks protocol %d, guest speaks %d", h.Protocol, proto.Version)
		_ = proto.WriteMessage(ctl, &proto.Error{Message: msg})
		return fmt.Errorf("hello: %s", msg)
	}
	rel, _ := kernelRelease()
	return proto.WriteMessage(ctl, &proto.Hello{Protocol: proto.Version, Version: version, Kernel: rel})
}

// reply decodes a control request, runs it and answers Ack or Error.
func reply(ctl net.Conn, f proto.Frame, apply func(*proto.Setup) error) {
	var s proto.Setup
	err := f.Decode(&s)
	if err == nil {
		err = apply(&s)
	}
	if err != nil {
		_ = proto.WriteMessage(ctl, &proto.Error{Message: err.Error()})
		return
	}
	_ = proto.WriteMessage(ctl, &proto.Ack{})
}

// stopAll ends every process but PID 1 before power-off, so their last
// writes reach the disks that sync then flushes.
func stopAll() {
	if unix.Kill(-1, unix.SIGTERM) == unix.ESRCH {
		return
	}
	for i := 0; i < 50 && unix.Kill(-1, 0) != unix.ESRCH; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	_ = unix.Kill(-1, unix.SIGKILL)
}
