package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func TestLogWriterLinesAndRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, logFileName)
	l, err := openLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Lines are cut per stream, however the output is chunked.
	l.write("stdout", []byte("one\ntw"))
	l.write("stderr", []byte("err\n"))
	l.write("stdout", []byte("o\nunterminated"))
	l.flush()
	// A line longer than Docker's 16 KiB is split.
	l.write("stdout", []byte(strings.Repeat("x", logMaxLine+10)+"\n"))
	read := func(o LogOptions) []*LogEntry {
		var got []*LogEntry
		err := readLogFiles(context.Background(), path, o, func(e *LogEntry) error { got = append(got, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := read(LogOptions{Tail: -1})
	want := []string{"stdout one\n", "stderr err\n", "stdout two\n", "stdout unterminated", "stdout " + strings.Repeat("x", logMaxLine), "stdout " + strings.Repeat("x", 10) + "\n"}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Stream+" "+e.Log != want[i] {
			t.Errorf("entry %d = %q %q, want %q", i, e.Stream, truncateForTest(e.Log), truncateForTest(want[i]))
		}
	}
	// Past the size limit the log rotates, keeping one older file, and
	// reading spans both.
	line := strings.Repeat("y", 1000) + "\n"
	n := logMaxSize/len(line) + 100
	for i := 0; i < n; i++ {
		l.write("stdout", []byte(line))
	}
	l.close()
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() >= logMaxSize {
		t.Fatalf("current log is %d bytes, over the limit", fi.Size())
	}
	if tail := read(LogOptions{Tail: 3}); len(tail) != 3 || tail[2].Log != line {
		t.Fatalf("tail 3 across rotation: %d entries", len(tail))
	}
}

func truncateForTest(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// --log-driver none keeps no file; max-size rotates early, and
// max-file=1 keeps no older file.
func TestLogWriterOptions(t *testing.T) {
	tests := []struct {
		name      string
		lc        *spec.Logging
		log, old  bool // the files there after writing 40 lines
		maxLogLen int64
	}{
		{"none", &spec.Logging{Driver: "none"}, false, false, 0},
		{"small", &spec.Logging{Options: map[string]string{"max-size": "1k"}}, true, true, 1 << 10},
		{"small, one file", &spec.Logging{Driver: "json-file", Options: map[string]string{"max-size": "1k", "max-file": "1"}}, true, false, 1 << 10},
		{"default", nil, true, false, logMaxSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), logFileName)
			l, err := openLog(path, tt.lc)
			if err != nil {
				t.Fatal(err)
			}
			for range 40 {
				l.write("stdout", []byte(strings.Repeat("y", 60)+"\n"))
			}
			l.close()
			fi, err := os.Stat(path)
			if (err == nil) != tt.log {
				t.Fatalf("log file: %v, want it there: %v", err, tt.log)
			}
			if _, err := os.Stat(path + ".1"); (err == nil) != tt.old {
				t.Fatalf("older file: %v, want it there: %v", err, tt.old)
			}
			if tt.log && fi.Size() > tt.maxLogLen {
				t.Fatalf("log of %d bytes, over %d", fi.Size(), tt.maxLogLen)
			}
		})
	}
}
