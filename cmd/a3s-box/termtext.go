package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text a guest wrote (process names and arguments in top, paths in diff,
// the guest's error lines) is hostile: an escape sequence in it would
// drive the operator's terminal (retitle it, rewrite what it shows,
// answer queries into its input). Such text is printed with every
// control character, DEL, C1 control and invalid byte written out as a
// Go escape (\x1b, \n, \u009b), so it reads as what it is. A box's own
// streams (logs, attach, exec, run) stay raw, as in Docker: they are the
// box's terminal output by design.

// termText is s for a table cell or a line: nothing in it moves the
// cursor or starts a new line.
func termText(s string) string { return escapeControls(s, false) }

// termLines is s for a message of several lines: newlines stay.
func termLines(s string) string { return escapeControls(s, true) }

func escapeControls(s string, keepNewlines bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
