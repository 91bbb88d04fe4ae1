package image

import (
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Progress shows a transfer (pull or push) to the user: status lines
// around it and one entry per layer during it. The CLI draws live bars on
// a terminal; LineProgress writes Docker's plain lines elsewhere.
type Progress interface {
	// Printf writes a status line. The store calls it before the first
	// Layer and after every layer is done, never in between.
	Printf(format string, args ...any)
	// Layer starts showing a layer of size bytes (short is its 12-digit ID).
	Layer(short string, size int64) LayerProgress
	// Wait returns once every layer's display is final.
	Wait()
}

// LayerProgress is one layer's entry in a Progress.
type LayerProgress interface {
	// Reader counts the layer's bytes as r delivers them.
	Reader(r io.Reader) io.Reader
	// Done ends the entry with a final status, e.g. "Pull complete" or
	// "Already exists".
	Done(status string)
	// Abort ends the entry of a layer that failed.
	Abort()
}

// LineProgress writes Docker's plain progress lines to w, one per layer
// when it finishes ("<id>: Pull complete").
func LineProgress(w io.Writer) Progress {
	if w == nil {
		return noProgress{}
	}
	return &lineProgress{w: w}
}

type lineProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *lineProgress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

func (p *lineProgress) Layer(short string, size int64) LayerProgress {
	return &lineLayer{p: p, short: short}
}

func (p *lineProgress) Wait() {}

type lineLayer struct {
	p     *lineProgress
	short string
}

func (l *lineLayer) Reader(r io.Reader) io.Reader { return r }
func (l *lineLayer) Done(status string)           { l.p.Printf("%s: %s\n", l.short, status) }
func (l *lineLayer) Abort()                       {}

// noProgress shows nothing.
type noProgress struct{}

func (noProgress) Printf(string, ...any)             {}
func (noProgress) Layer(string, int64) LayerProgress { return noLayer{} }
func (noProgress) Wait()                             {}

type noLayer struct{}

func (noLayer) Reader(r io.Reader) io.Reader { return r }
func (noLayer) Done(string)                  {}
func (noLayer) Abort()                       {}

func orNoProgress(p Progress) Progress {
	if p == nil {
		return noProgress{}
	}
	return p
}

// ShortID is Docker's 12-hex-digit abbreviation of a digest.
func ShortID(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}
