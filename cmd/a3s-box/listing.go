package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
)

// lister renders rows of structs (ps, inspect, events) by Docker's
// --format values "table", "table TEMPLATE", "json" and a bare Go
// template; table (format.go) does the same for rows that are maps.

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

// newListLister is newLister for a listing verb with -q: quiet, without
// a --format, prints quietDef's lines and no heading.
func newListLister(out io.Writer, format, def, quietDef string, header any, quiet bool) (*lister, error) {
	if quiet && format == "" {
		l, err := newLister(out, "", quietDef, header)
		if err == nil {
			l.table = false
		}
		return l, err
	}
	return newLister(out, format, def, header)
}

// inspectPrinter prints what an inspect verb found: Docker's indented
// JSON array, or each object through the --format template, which sees
// the JSON shape ({{.State.Status}}). The template is parsed first, so a
// bad one fails before anything is looked up.
func inspectPrinter(out io.Writer, format string) (func(objs []any) error, error) {
	if format == "" {
		return func(objs []any) error {
			if objs == nil {
				objs = []any{}
			}
			b, err := json.MarshalIndent(objs, "", "    ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%s\n", b)
			return err
		}, nil
	}
	l, err := newLister(out, format, "", nil)
	if err != nil {
		return nil, err
	}
	l.table = false
	return func(objs []any) error {
		rows := make([]any, len(objs))
		for i, o := range objs {
			var m map[string]any
			b, _ := json.Marshal(o)
			_ = json.Unmarshal(b, &m)
			rows[i] = m
		}
		return l.print(rows)
	}, nil
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

// matchFilters is Docker's --filter rule for x: the values given for one
// key OR, the keys AND; one matches one key and value. Labels are the
// exception, as in Docker: x must carry every label asked for.
func matchFilters[T any](by map[string][]string, x T, one func(k, v string, x T) bool) bool {
	for k, vals := range by {
		match := func(v string) bool { return one(k, v, x) }
		if k == "label" {
			if !allOf(vals, match) {
				return false
			}
			continue
		}
		if !slices.ContainsFunc(vals, match) {
			return false
		}
	}
	return true
}

func allOf(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if !f(v) {
			return false
		}
	}
	return true
}

// hasLabel matches a label filter value, KEY or KEY=VALUE.
func hasLabel(labels map[string]string, spec string) bool {
	k, v, withValue := strings.Cut(spec, "=")
	got, ok := labels[k]
	return ok && (!withValue || got == v)
}

// rowLabels gives a listing row Docker's {{.Label "key"}}: one label's
// value, or LABEL in the heading row.
type rowLabels struct {
	labels map[string]string
	header bool
}

// Label gives one label's value.
func (r rowLabels) Label(k string) string {
	if r.header {
		return "LABEL"
	}
	return r.labels[k]
}
