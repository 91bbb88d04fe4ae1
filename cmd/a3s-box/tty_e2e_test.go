package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession drives an a3s-box command on a real pseudo-terminal, as a
// user at a terminal would.
type ptySession struct {
	t   *testing.T
	f   *os.File
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func startPTY(t *testing.T, rows, cols uint16, args ...string) *ptySession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := command(ctx, e2e.root, args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, f: f, cmd: cmd}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close(); cmd.Process.Kill(); cmd.Wait() })
	return s
}

func (s *ptySession) send(keys string) {
	if _, err := io.WriteString(s.f, keys); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits for text to appear in the output after mark.
func (s *ptySession) expect(mark int, text string) int {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s.mu.Lock()
		out := s.out.String()
		s.mu.Unlock()
		if i := strings.Index(out[mark:], text); i >= 0 {
			return mark + i + len(text)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %q; terminal shows:\n%s", text, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output is all the terminal showed so far.
func (s *ptySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *ptySession) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Len()
}

func TestInteractiveTTY(t *testing.T) {
	needE2E(t)
	s := startPTY(t, 33, 111, "run", "-it", "--name", "tty-box", e2e.image, "sh")
	t.Cleanup(func() { a3s(t, "rm", "-f", "tty-box") })
	s.send("PS1='box$ '\n")
	m := s.expect(0, "box$ ")
	s.send("stty size\n")
	m = s.expect(m, "33 111")
	m = s.expect(m, "box$ ")

	// A resize of the host terminal reaches the box.
	if err := pty.Setsize(s.f, &pty.Winsize{Rows: 41, Cols: 97}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	s.send("stty size\n")
	m = s.expect(m, "41 97")
	m = s.expect(m, "box$ ")

	// Ctrl-C stops the foreground process in the box, not the box.
	s.send("sleep 100; echo after-sleep\n")
	time.Sleep(time.Second)
	start := time.Now()
	s.send("\x03")
	m = s.expect(m, "box$ ")
	if time.Since(start) > 20*time.Second {
		t.Fatal("Ctrl-C did not stop sleep")
	}
	s.send("echo still-$((40+2))\n")
	m = s.expect(m, "still-42")

	// Detach keys leave the box running; attach is not needed to see it.
	s.send("\x10\x11")
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("detach: the CLI exited with %v, want 0", err)
	}
	if got := field(t, "tty-box", "{{.State.Status}}"); !strings.HasPrefix(got, "running") {
		t.Fatalf("after detach the box is %q, want running", got)
	}
	// exec -it on the same box, then exit with a status.
	e := startPTY(t, 20, 70, "exec", "-it", "tty-box", "sh")
	e.send("stty size; exit 5\n")
	e.expect(0, "20 70")
	err := e.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Fatalf("exec -it exit: %v, want status 5", err)
	}
}

func TestRunInteractivePipe(t *testing.T) {
	needE2E(t)
	cmd := command(t.Context(), e2e.root, "run", "-i", "--rm", e2e.image, "cat")
	cmd.Stdin = strings.NewReader("hi\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("echo hi | run -i cat: %q, %v", out, err)
	}
	// -t without a terminal on stdin is refused, as Docker does.
	r := a3s(t, "run", "-it", "--rm", e2e.image, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "not a TTY") {
		t.Fatalf("run -it without a terminal: code %d stderr %q", r.code, r.stderr)
	}
}
