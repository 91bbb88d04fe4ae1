package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"golang.org/x/sys/unix"
)

// templateFuncs are the functions Docker's --format templates offer.
var templateFuncs = template.FuncMap{
	"json": func(x any) (string, error) {
		b, err := json.Marshal(x)
		return string(b), err
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"pad": func(s string, l, r int) string { return strings.Repeat(" ", l) + s + strings.Repeat(" ", r) },
}

func parseTemplate(format string) (*template.Template, error) {
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// table is a listing: rows are maps from Docker's field names, so one
// template renders both the header (from headers) and the rows.
type table struct {
	headers map[string]string
	rows    []map[string]any
}

// write renders t with format as Docker does: "" or "table ..." as
// aligned columns under a header, "json" as one JSON object per line,
// anything else as a template per row. def is the default table format.
func (t *table) write(w io.Writer, format, def string) error {
	if format == "" {
		format = def
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range t.rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	isTable := strings.HasPrefix(format, "table")
	if isTable {
		format = strings.TrimSpace(strings.TrimPrefix(format, "table"))
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	tmpl, err := parseTemplate(format)
	if err != nil {
		return err
	}
	out := w
	var tw *tabwriter.Writer
	if isTable {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		hdr := map[string]any{}
		for k, v := range t.headers {
			hdr[k] = v
		}
		if err := tmpl.Execute(out, hdr); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	for _, r := range t.rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// humanSize is Docker's size: decimal units, three significant digits
// ("4.26MB", "512B").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	// 999.5 and up would print as "1e+03" at three digits.
	for f >= 999.5 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", 3, f, units[i])
}

// humanDuration is Docker's approximate age ("About an hour", "2 weeks").
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	switch m := int(d.Minutes()); {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	switch h := int(math.Round(d.Hours())); {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	default:
		return fmt.Sprintf("%d years", h/24/365)
	}
}

// since is an age as Docker's CREATED column shows it.
func since(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return humanDuration(time.Since(t)) + " ago"
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// terminalWidth is w's width in columns when it is a terminal, else 0.
func terminalWidth(w any) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
