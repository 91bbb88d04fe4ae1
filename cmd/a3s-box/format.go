package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
)

// Output formatting shared by the listing verbs: Docker's --format
// values "table", "table TEMPLATE", "json" and a bare Go template, with
// Docker's template functions.

var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":     strings.Join,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"title":    func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"split":    strings.Split,
	"println":  fmt.Sprintln,
	"truncate": func(s string, n int) string { return truncate(s, n) },
	"pad":      func(s string, l, r int) string { return strings.Repeat(" ", l) + s + strings.Repeat(" ", r) },
}

// lister prints rows as the user's --format asks.
type lister struct {
	out    io.Writer
	tmpl   *template.Template
	table  bool
	json   bool
	header any // the heading row: a row value or a map by field name
}

// newLister parses a --format value; def is the table template used when
// the user gives none (or just "table").
func newLister(out io.Writer, format, def string, header any) (*lister, error) {
	l := &lister{out: out, header: header}
	switch {
	case format == "json":
		l.json = true
		return l, nil
	case format == "" || format == "table":
		format, l.table = def, true
	case strings.HasPrefix(format, "table "):
		format, l.table = strings.TrimPrefix(format, "table "), true
	}
	// Docker's templates use literal \t and \n escapes on the command line.
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("").Funcs(templateFuncs).Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %v", err)
	}
	l.tmpl = t
	return l, nil
}

// print writes every row; rows are structs whose fields the template
// names, or raw maps for json.
func (l *lister) print(rows []any) error {
	if l.json {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(l.out, "%s\n", b)
		}
		return nil
	}
	var buf bytes.Buffer
	w := io.Writer(&buf)
	var tw *tabwriter.Writer
	if l.table {
		tw = tabwriter.NewWriter(&buf, 10, 1, 3, ' ', 0)
		w = tw
		// Headings come from the same template run over the headings.
		var head bytes.Buffer
		if err := l.tmpl.Execute(&head, l.header); err == nil {
			fmt.Fprintln(w, head.String())
		}
	}
	for _, r := range rows {
		if err := l.tmpl.Execute(w, r); err != nil {
			return fmt.Errorf("template: %v", err)
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		tw.Flush()
	}
	_, err := l.out.Write(buf.Bytes())
	return err
}

// truncate shortens s to n runes, ending with an ellipsis as Docker does.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

// humanDuration is Docker's (go-units) rendering of a duration.
func humanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}
	minutes := int(d.Minutes())
	switch {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}
	hours := int(d.Hours() + 0.5)
	switch {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// humanSize is Docker's decimal size (go-units HumanSize).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

// parseTime reads a --since or --until value as Docker does: a relative
// duration ("10m"), an RFC 3339 time or date, or Unix seconds.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	var sec, frac int64
	if n, _ := fmt.Sscanf(s, "%d.%d", &sec, &frac); n >= 1 && !strings.ContainsAny(s, "-:") {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want a duration (10m), an RFC 3339 time or Unix seconds", s)
}
