package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// cpProgress is docker cp's progress line on a terminal: "Preparing to
// copy...", then the bytes moved so far, redrawn ten times a second, and
// at the end "Successfully copied SIZE to DEST". Elsewhere, or with -q,
// cp prints nothing, as Docker's does.
type cpProgress struct {
	w      io.Writer
	header string // "Copying to box - " or "Copying from box - "
	n      atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
}

// startCpProgress starts the line on w.
func startCpProgress(w io.Writer, toBox bool) *cpProgress {
	p := &cpProgress{w: w, header: "Copying from box - ", stop: make(chan struct{})}
	if toBox {
		p.header = "Copying to box - "
	}
	fmt.Fprint(w, "Preparing to copy...")
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\x1b[2K%s%s", p.header, dockerSize(p.n.Load()))
			}
		}
	}()
	return p
}

// add counts n more bytes.
func (p *cpProgress) add(n int64) { p.n.Add(n) }

// done clears the line and, when the copy succeeded, says so.
func (p *cpProgress) done(ok bool, dst string) {
	close(p.stop)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\x1b[2K")
	if ok {
		fmt.Fprintf(p.w, "Successfully copied %s to %s\n", dockerSize(p.n.Load()), dst)
	}
}
