package main

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	needE2E(t)
	runDetached(t, "ex-box", "-e", "FROM_RUN=yes", "-w", "/srv", e2e.image, "sleep", "1000")

	r := a3s(t, "exec", "ex-box", "sh", "-c", `echo "$FROM_RUN $(pwd) $(id -u)"; echo oops >&2; exit 4`)
	if r.stdout != "yes /srv 0\n" || r.stderr != "oops\n" || r.code != 4 {
		t.Fatalf("exec: stdout %q stderr %q code %d; want the box's env and dir, streams apart, exit 4", r.stdout, r.stderr, r.code)
	}
	r = a3s(t, "exec", "-e", "FROM_RUN=over", "-e", "NEW=1", "-w", "/tmp", "-u", "app", "ex-box", "sh", "-c", `echo "$FROM_RUN $NEW $(pwd) $(id -un)"`)
	if r.stdout != "over 1 /tmp app\n" || r.code != 0 {
		t.Fatalf("exec with -e -w -u: stdout %q stderr %q code %d", r.stdout, r.stderr, r.code)
	}
	if r := a3s(t, "exec", "ex-box", "no-such-command"); r.code != 127 || !strings.Contains(r.stderr, "no-such-command") {
		t.Fatalf("missing command: code %d stderr %q; want 127", r.code, r.stderr)
	}
	if r := a3s(t, "exec", "ex-box", "/bin/notexec"); r.code != 126 {
		t.Fatalf("non-executable: code %d stderr %q; want 126", r.code, r.stderr)
	}
	cmd := command(t.Context(), e2e.root, "exec", "-i", "ex-box", "sh", "-c", "tr a-z A-Z")
	cmd.Stdin = strings.NewReader("piped in\n")
	if out, err := cmd.Output(); err != nil || string(out) != "PIPED IN\n" {
		t.Fatalf("exec -i: %q, %v", out, err)
	}

	// Several execs at once, each with its own streams and status.
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := command(t.Context(), e2e.root, "exec", "ex-box", "sh", "-c", "sleep 0.5; echo $0; exit $0", string(rune('0'+i)))
			out, err := c.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if string(out) != string(rune('0'+i))+"\n" || code != i {
				errs <- string(out)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent exec mixed up: %q", e)
	}

	if r := a3s(t, "stop", "-t", "0", "ex-box"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := a3s(t, "exec", "ex-box", "true"); r.code != 1 || !strings.Contains(r.stderr, "is not running") {
		t.Fatalf("exec into a stopped box: code %d stderr %q", r.code, r.stderr)
	}
}

func TestAttachSeveralClients(t *testing.T) {
	needE2E(t)
	runDetached(t, "at-box", e2e.image, "sh", "-c", "trap 'exit 3' TERM; while :; do echo tick; sleep 0.3; done")
	type client struct {
		cmd *exec.Cmd
		out *syncBuffer
	}
	var clients []client
	for i := 0; i < 2; i++ {
		cmd := command(t.Context(), e2e.root, "attach", "--no-stdin", "at-box")
		out := &syncBuffer{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{cmd, out})
	}
	for _, c := range clients {
		waitFor(t, 20*time.Second, "output on each attached client", func() bool { return strings.Count(c.out.String(), "tick") >= 2 })
	}
	if r := a3s(t, "stop", "at-box"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, c := range clients {
		err := c.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("attach ended with %v, want the box's status 3", err)
		}
	}
	if r := a3s(t, "attach", "at-box"); r.code != 1 || !strings.Contains(r.stderr, "start it first") {
		t.Fatalf("attach to a stopped box: code %d stderr %q", r.code, r.stderr)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
