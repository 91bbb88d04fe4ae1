package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"golang.org/x/sys/unix"
)

func init() {
	register(&verb{name: "supervise", summary: "Run a box's supervisor (started by a3s-box itself)", errCode: 1, hidden: true, run: superviseVerb})
}

// superviseVerb is the body of a box's supervisor process. Its stdout is
// the pipe its starter reads the ready line from; its stderr is the box's
// supervisor.log.
func superviseVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("supervise", "supervise [--attach] BOX-ID", "Run a box's supervisor")
	attach := fs.Bool("attach", false, "Hold the main process until a client attaches")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("supervise needs exactly one box ID")
	}
	// SIGTERM or SIGINT to the supervisor stops its box cleanly; a hangup
	// of a terminal it never had means nothing.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	eng, err := c.engine(ctx)
	if err != nil {
		os.Stdout.WriteString("error 125 " + err.Error() + "\n")
		return err
	}
	// A supervisor lives as long as its box and mostly waits: keep its
	// heap small (the whole CLI's package initialisation is garbage by now).
	debug.SetGCPercent(25)
	go func() {
		time.Sleep(5 * time.Second)
		debug.FreeOSMemory()
	}()
	return eng.Supervise(ctx, fs.Arg(0), runtime.SuperviseOptions{Ready: readyPipe{}, WaitAttach: *attach})
}

// readyPipe is the supervisor's stdout: once the ready line is written,
// /dev/null takes its place so that no later file can land on fd 1.
type readyPipe struct{}

func (readyPipe) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

func (readyPipe) Close() error {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	return unix.Dup2(int(null.Fd()), 1)
}
