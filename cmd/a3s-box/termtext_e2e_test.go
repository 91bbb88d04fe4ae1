package main

import (
	"strings"
	"testing"
	"time"
)

// TestGuestTextIsEscaped has a guest put escape sequences where the
// host prints its words: a process's arguments (top), a file name
// (diff) and a failing exec's error line. None reaches the terminal
// raw; each reads as its escape.
func TestGuestTextIsEscaped(t *testing.T) {
	needE2E(t)
	root := e2e.root
	// The guest makes the escape itself: printf in the box, so no host
	// argument carries it.
	ok(t, root, "run", "-d", "--name", "esc-box", e2e.image, "sh", "-c",
		`touch "/root/$(printf 'red\033[31m')"; sh -c 'sleep 600; true' "$(printf '\033]0;pwned\007')"`)
	t.Cleanup(func() { a3sIn(t, root, "rm", "-f", "esc-box") })

	var top string
	waitFor(t, 30*time.Second, "the renamed process in top", func() bool {
		top = a3sIn(t, root, "top", "esc-box").stdout
		for _, line := range strings.Split(top, "\n") {
			// The inner sh, whose $0 the guest made; not the outer
			// one, whose arguments only spell it.
			if strings.Contains(line, "pwned") && !strings.Contains(line, "printf") {
				return true
			}
		}
		return false
	})
	if strings.ContainsAny(top, "\x1b\x07") || !strings.Contains(top, `\x1b]0;pwned\x07`) {
		t.Fatalf("top printed the guest's escape raw or not as its escape:\n%q", top)
	}

	diff := ok(t, root, "diff", "esc-box")
	if strings.Contains(diff, "\x1b") || !strings.Contains(diff, `/root/red\x1b[31m`) {
		t.Fatalf("diff printed a guest's file name raw:\n%q", diff)
	}

	r := a3sIn(t, root, "exec", "esc-box", "/root/red\x1b[31m")
	if r.code == 0 || strings.Contains(r.stderr, "\x1b") || !strings.Contains(r.stderr, `\x1b[31m`) {
		t.Fatalf("exec of the guest's file: code %d stderr %q; want a failure with the escape written out", r.code, r.stderr)
	}
}
