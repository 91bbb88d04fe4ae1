package main

import "testing"

func TestTermText(t *testing.T) {
	cases := []struct {
		in, cell, lines string
	}{
		{"sleep 600", "sleep 600", "sleep 600"},
		{"héllo wörld ✓", "héllo wörld ✓", "héllo wörld ✓"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`, `\x1b]0;pwned\x07`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"a\tb\nc\rd", `a\tb\nc\rd`, "a\\tb\nc\\rd"},
		{"del\x7f", `del\x7f`, `del\x7f`},
		{"csi\u009b31m", `csi\u009b31m`, `csi\u009b31m`},
		{"bad\xff\xfe", `bad\xff\xfe`, `bad\xff\xfe`},
		{"nul\x00", `nul\x00`, `nul\x00`},
		{"", "", ""},
	}
	for _, c := range cases {
		if got := termText(c.in); got != c.cell {
			t.Errorf("termText(%q) = %q, want %q", c.in, got, c.cell)
		}
		if got := termLines(c.in); got != c.lines {
			t.Errorf("termLines(%q) = %q, want %q", c.in, got, c.lines)
		}
	}
}
