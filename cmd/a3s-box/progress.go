package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// transferProgress shows a pull or push on w: live bars per layer on a
// terminal, Docker's plain lines elsewhere, nothing when quiet. active is
// a moving layer's status, "Downloading" or "Pushing".
func transferProgress(w io.Writer, quiet bool, active string) image.Progress {
	switch {
	case quiet:
		return nil
	case terminalWidth(w) > 0: // a terminal that reports no size cannot draw bars
		return &barProgress{w: w, active: active}
	}
	return image.LineProgress(w)
}

// barProgress draws one mpb bar per layer. The container starts with the
// first layer and is waited for before any later status line, so lines
// and bars never interleave.
type barProgress struct {
	w      io.Writer
	active string
	mu     sync.Mutex
	p      *mpb.Progress
}

func (b *barProgress) Printf(format string, args ...any) {
	b.Wait()
	fmt.Fprintf(b.w, format, args...)
}

func (b *barProgress) Layer(short string, size int64) image.LayerProgress {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(40))
	}
	l := &barLayer{active: b.active}
	l.status.Store("Waiting")
	status := decor.Any(func(decor.Statistics) string { return l.status.Load().(string) }, decor.WCSyncSpaceR)
	l.bar = b.p.AddBar(size,
		mpb.PrependDecorators(decor.Name(short+":", decor.WCSyncSpaceR), status),
		mpb.AppendDecorators(decor.OnCompleteOrOnAbort(decor.CountersKiloByte("% .1f / % .1f"), "")),
		mpb.BarFillerClearOnComplete(),
	)
	return l
}

func (b *barProgress) Wait() {
	b.mu.Lock()
	p := b.p
	b.p = nil
	b.mu.Unlock()
	if p != nil {
		p.Wait()
	}
}

type barLayer struct {
	bar    *mpb.Bar
	active string
	status atomic.Value // string
}

func (l *barLayer) Reader(r io.Reader) io.Reader {
	l.status.Store(l.active)
	rc, err := l.bar.ProxyReader(r)
	if err != nil {
		return r
	}
	return rc
}

func (l *barLayer) Done(status string) {
	l.status.Store(status)
	l.bar.SetTotal(-1, true)
}

func (l *barLayer) Abort() {
	l.status.Store("Failed")
	l.bar.Abort(false)
}
