package spec

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Error is one problem in a stack: what is wrong and where. Parse and
// Validate return every problem they find at once, as a *multierror.Error
// of *Error, sorted by file and line; errors.As finds the first.
type Error struct {
	File  string // the file the stack came from; empty when built in code
	Line  int    // 1-based; 0 when unknown
	Field string // the dotted path in the file, e.g. boxes.web.ports[0]
	Msg   string
}

func (e *Error) Error() string { return locate(e.File, e.Line, e.Field, e.Msg) }

// Warning is something a3s-box reads but does not act on, such as a compose
// field it does not support yet: the stack still loads.
type Warning struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (w Warning) String() string { return locate(w.File, w.Line, w.Field, w.Msg) }

// locate renders "file:line: field: msg", leaving out what is unknown.
func locate(file string, line int, field, msg string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		if line > 0 {
			fmt.Fprintf(&b, ":%d", line)
		}
		b.WriteString(": ")
	} else if line > 0 {
		fmt.Fprintf(&b, "line %d: ", line)
	}
	if field != "" {
		b.WriteString(field)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}

// Errors returns the problems in err, one per line of its message: the
// *Error values of a Parse, Load or Validate failure, or err itself.
func Errors(err error) []error {
	var me *multierror.Error
	if errors.As(err, &me) {
		return me.Errors
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// problems collects the errors of one parse or validation.
type problems struct{ errs []error }

func (p *problems) add(file string, line int, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) addErr(err error) {
	p.errs = append(p.errs, Errors(err)...)
}

// err returns nil, or every problem sorted by file and line, one per line
// of the message.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b error) int {
		ea, oka := a.(*Error)
		eb, okb := b.(*Error)
		if !oka || !okb {
			return 0
		}
		return cmp.Or(cmp.Compare(ea.File, eb.File), cmp.Compare(ea.Line, eb.Line))
	})
	p.errs = slices.CompactFunc(p.errs, func(a, b error) bool { return a.Error() == b.Error() })
	return &multierror.Error{Errors: p.errs, ErrorFormat: listFormat}
}

// listFormat prints one problem per line, so a single problem reads as one
// plain line and many read as a list a user can work through.
func listFormat(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// suggest returns the candidate closest to word when it is close enough to
// be a likely misspelling, or "".
func suggest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// One edit in four, and at least one: "imgae" finds "image", "foo"
	// finds nothing.
	if bestD >= 0 && bestD <= max(1, len(word)/4+1) && bestD < len(word) {
		return best
	}
	return ""
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment): transposed letters, the commonest typo, count as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// ErrorAt is a problem found after loading (a reconcile finding an
// external volume missing), located at field of the stack's file as
// Parse would locate it: "boxes.web.volumes[0]", "volumes.data".
func (s *Stack) ErrorAt(field, format string, args ...any) *Error {
	w := s.pos.written(field)
	return &Error{File: s.File, Line: s.pos.line(w), Field: w, Msg: fmt.Sprintf(format, args...)}
}
