package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/procfs"
)

// `top BOX [ps OPTIONS]` takes the ps options Docker users pass (Docker
// runs the host's ps): a box may have no ps of its own, so a3s-box reads
// the guest's /proc and renders procps's columns itself. Options that
// select processes (-e, -A, a, x, ...) select the box's processes, which
// is all top ever shows.

// psColumn is one output column: a procps keyword and its heading.
type psColumn struct {
	key, header string
}

// psOptions is what a ps command line asks for.
type psOptions struct {
	columns  []psColumn
	noHeader bool
	pids     map[int]bool // -p: only these; nil for all
}

// procps's formats, by the options that choose them.
var (
	psDefaultDocker = "uid_hack,pid,ppid,c,stime,tname,time,cmd" // -ef, Docker's default
	psFormatFull    = psDefaultDocker                            // -f
	psFormatUnix    = "pid,tname,time,ucmd"                      // no format option
	psFormatBSD     = "pid,tname,stat,bsdtime,args"              // a BSD option without u
	psFormatUser    = "user,pid,pcpu,pmem,vsz,rss,tname,stat,start_time,bsdtime,args"
)

// psKeywords are the keywords -o knows, with procps's headings.
var psKeywords = map[string]string{
	"pid": "PID", "ppid": "PPID", "pgid": "PGID", "pgrp": "PGRP", "sid": "SID", "sess": "SESS",
	"uid": "UID", "euid": "EUID", "user": "USER", "euser": "EUSER", "uname": "USER", "uid_hack": "UID",
	"gid": "GID", "egid": "EGID", "group": "GROUP", "egroup": "EGROUP",
	"comm": "COMMAND", "ucmd": "CMD", "ucomm": "COMMAND", "args": "COMMAND", "cmd": "CMD", "command": "COMMAND",
	"stat": "STAT", "s": "S", "state": "S", "tty": "TT", "tt": "TT", "tname": "TTY",
	"time": "TIME", "cputime": "TIME", "bsdtime": "TIME", "etime": "ELAPSED", "etimes": "ELAPSED",
	"pcpu": "%CPU", "%cpu": "%CPU", "c": "C", "pmem": "%MEM", "%mem": "%MEM",
	"vsz": "VSZ", "vsize": "VSZ", "rss": "RSS", "rssize": "RSS", "rsz": "RSZ",
	"nlwp": "NLWP", "thcount": "THCNT", "ni": "NI", "nice": "NI",
	"stime": "STIME", "start_time": "START", "start": "STARTED", "lstart": "STARTED",
}

// parsePSOptions reads ps's UNIX (-ef), BSD (aux) and GNU (--format)
// options. With none, the format is Docker's default, -ef's.
func parsePSOptions(args []string) (*psOptions, error) {
	o := &psOptions{}
	if len(args) == 0 {
		return o, o.format(psDefaultDocker, false)
	}
	var full, user, bsd bool
	var custom []string
	// value takes an option's argument: the rest of its cluster, else
	// the next word.
	value := func(rest string, i *int, opt string) (string, error) {
		if rest != "" {
			return rest, nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("ps option %s needs a list", opt)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--no-headers" || a == "--no-heading":
			o.noHeader = true
		case a == "--format" || strings.HasPrefix(a, "--format="):
			v, err := value(strings.TrimPrefix(a[len("--format"):], "="), &i, "--format")
			if err != nil {
				return nil, err
			}
			custom = append(custom, v)
		case a == "--pid" || strings.HasPrefix(a, "--pid="):
			v, err := value(strings.TrimPrefix(a[len("--pid"):], "="), &i, "--pid")
			if err != nil {
				return nil, err
			}
			if err := o.addPIDs(v); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "--"):
			return nil, fmt.Errorf("unsupported ps option %q", a)
		case a == "-aux":
			// procps reads "-aux" as "aux" when there is no user "x".
			user, bsd = true, true
		case strings.HasPrefix(a, "-"):
			cluster := a[1:]
			if cluster == "" {
				return nil, fmt.Errorf("unsupported ps option %q", a)
			}
			for j := 0; j < len(cluster); j++ {
				switch c := cluster[j]; c {
				case 'e', 'A', 'a', 'd', 'N', 'x', 'w':
					// Selection and width: every process of the box, whole lines.
				case 'f':
					full = true
				case 'o', 'p':
					v, err := value(cluster[j+1:], &i, "-"+string(c))
					if err != nil {
						return nil, err
					}
					if c == 'o' {
						custom = append(custom, v)
					} else if err := o.addPIDs(v); err != nil {
						return nil, err
					}
					j = len(cluster)
				default:
					return nil, unsupported("-"+string(c), a)
				}
			}
		default:
			bsd = true
			for j := 0; j < len(a); j++ {
				switch c := a[j]; c {
				case 'a', 'x', 'w', 'e':
				case 'u':
					user = true
				case 'h':
					o.noHeader = true
				case 'o':
					v, err := value(a[j+1:], &i, "o")
					if err != nil {
						return nil, err
					}
					custom = append(custom, v)
					j = len(a)
				default:
					return nil, unsupported(string(c), a)
				}
			}
		}
	}
	var err error
	switch {
	case len(custom) > 0:
		for _, c := range custom {
			if err = o.format(c, true); err != nil {
				return nil, err
			}
		}
		// procps leaves the heading out when every heading is empty.
		empty := true
		for _, c := range o.columns {
			empty = empty && c.header == ""
		}
		o.noHeader = o.noHeader || empty
	case user:
		err = o.format(psFormatUser, false)
	case full:
		err = o.format(psFormatFull, false)
	case bsd:
		err = o.format(psFormatBSD, false)
	default:
		err = o.format(psFormatUnix, false)
	}
	return o, err
}

// unsupported names an option ps would take but top does not, and the
// word it came in when that word holds more.
func unsupported(opt, word string) error {
	if word == opt {
		return fmt.Errorf("unsupported ps option %s", opt)
	}
	return fmt.Errorf("unsupported ps option %s (in %q)", opt, word)
}

// format adds the columns of a keyword list: keywords separated by
// commas or blanks; with user set, "key=HEADING" renames a column, the
// heading running to the end of the list as with procps.
func (o *psOptions) format(list string, user bool) error {
	for list != "" {
		list = strings.TrimLeft(list, ", \t")
		if list == "" {
			break
		}
		end := strings.IndexAny(list, ", \t=")
		if end < 0 {
			end = len(list)
		}
		key := list[:end]
		header, ok := psKeywords[key]
		if !ok {
			return fmt.Errorf("unknown ps format keyword %q", key)
		}
		list = list[end:]
		if user && strings.HasPrefix(list, "=") {
			header, list = list[1:], ""
		}
		o.columns = append(o.columns, psColumn{key: key, header: header})
	}
	if len(o.columns) == 0 {
		return fmt.Errorf("empty ps format list")
	}
	return nil
}

func (o *psOptions) addPIDs(list string) error {
	if o.pids == nil {
		o.pids = map[int]bool{}
	}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid process ID %q in ps option -p", f)
		}
		o.pids[n] = true
	}
	return nil
}

// render makes top's table: the headings and a row per process, at now
// by the host's clock.
func (o *psOptions) render(t *runtime.ProcessTable, now time.Time) (titles []string, rows [][]string) {
	for _, c := range o.columns {
		titles = append(titles, c.header)
	}
	for i := range t.Processes {
		p := &t.Processes[i]
		if o.pids != nil && !o.pids[p.PID] {
			continue
		}
		row := make([]string, len(o.columns))
		for j, c := range o.columns {
			row[j] = psValue(c.key, p, t, now)
		}
		rows = append(rows, row)
	}
	return titles, rows
}

// psValue is one keyword's value for a process, as procps prints it.
func psValue(key string, p *runtime.BoxProcess, t *runtime.ProcessTable, now time.Time) string {
	cpuTicks := p.UTime + p.STime
	var elapsed uint64 // seconds
	if t.Uptime > p.Start {
		elapsed = (t.Uptime - p.Start) / procfs.ClockTicks
	}
	started := t.Boot.Add(time.Duration(p.Start) * time.Second / procfs.ClockTicks).In(now.Location())
	switch key {
	case "pid":
		return strconv.Itoa(p.PID)
	case "ppid":
		return strconv.Itoa(p.PPID)
	case "pgid", "pgrp":
		return strconv.Itoa(p.PGRP)
	case "sid", "sess":
		return strconv.Itoa(p.Session)
	case "uid", "euid":
		return strconv.FormatUint(uint64(p.UID), 10)
	case "uid_hack":
		// -f's UID: the name when it fits procps's column, else the number.
		if n, ok := t.Users[p.UID]; ok && len(n) <= 8 {
			return n
		}
		return strconv.FormatUint(uint64(p.UID), 10)
	case "user", "euser", "uname":
		return idName(t.Users, p.UID)
	case "gid", "egid":
		return strconv.FormatUint(uint64(p.GID), 10)
	case "group", "egroup":
		return idName(t.Groups, p.GID)
	case "comm", "ucmd", "ucomm":
		return p.Comm
	case "args", "cmd", "command":
		return psArgs(p)
	case "stat":
		return psStat(p)
	case "s", "state":
		return string(p.State)
	case "tty", "tt", "tname":
		return ttyName(p.TTY)
	case "time", "cputime":
		return clock(cpuTicks/procfs.ClockTicks, true)
	case "bsdtime":
		s := cpuTicks / procfs.ClockTicks
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	case "etime":
		return clock(elapsed, false)
	case "etimes":
		return strconv.FormatUint(elapsed, 10)
	case "pcpu", "%cpu":
		if elapsed == 0 {
			return "0.0"
		}
		tenths := cpuTicks * 1000 / procfs.ClockTicks / elapsed
		if tenths > 999 {
			return strconv.FormatUint(tenths/10, 10)
		}
		return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
	case "c":
		if elapsed == 0 {
			return "0"
		}
		return strconv.FormatUint(min(cpuTicks*100/procfs.ClockTicks/elapsed, 99), 10)
	case "pmem", "%mem":
		if t.MemTotal == 0 {
			return "0.0"
		}
		tenths := uint64(max(p.RSS, 0)) * 4096 * 1000 / t.MemTotal
		return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
	case "vsz", "vsize":
		return strconv.FormatUint(p.VSize/1024, 10)
	case "rss", "rssize", "rsz":
		return strconv.FormatInt(max(p.RSS, 0)*4, 10)
	case "nlwp", "thcount":
		return strconv.FormatInt(p.Threads, 10)
	case "ni", "nice":
		return strconv.FormatInt(p.Nice, 10)
	case "stime", "start_time":
		switch {
		case started.Year() != now.Year():
			return started.Format("2006")
		case started.YearDay() != now.YearDay():
			return started.Format("Jan02")
		}
		return started.Format("15:04")
	case "start":
		if now.Sub(started) < 24*time.Hour {
			return started.Format("15:04:05")
		}
		return started.Format("Jan 02")
	case "lstart":
		return started.Format("Mon Jan _2 15:04:05 2006")
	}
	return "-"
}

// idName is a user or group name as procps prints it in an 8-wide
// column: longer names are cut and end with '+'; unknown IDs are numbers.
func idName(names map[uint32]string, id uint32) string {
	n, ok := names[id]
	if !ok {
		return strconv.FormatUint(uint64(id), 10)
	}
	if len(n) > 8 {
		return n[:7] + "+"
	}
	return n
}

// psArgs is a process's command line; a process without one (a zombie)
// shows its name in brackets, as procps does.
func psArgs(p *runtime.BoxProcess) string {
	if len(p.Args) == 0 {
		if p.State == 'Z' {
			return "[" + p.Comm + "] <defunct>"
		}
		return "[" + p.Comm + "]"
	}
	return strings.Join(p.Args, " ")
}

// psStat is BSD's STAT: the state, then < (high priority) or N (low),
// s (session leader), l (threads), + (in the foreground process group).
func psStat(p *runtime.BoxProcess) string {
	s := string(p.State)
	switch {
	case p.Nice < 0:
		s += "<"
	case p.Nice > 0:
		s += "N"
	}
	if p.Session == p.PID {
		s += "s"
	}
	if p.Threads > 1 {
		s += "l"
	}
	if p.TPGID > 0 && p.TPGID == p.PGRP {
		s += "+"
	}
	return s
}

// ttyName names a controlling terminal from its tty_nr.
func ttyName(nr int) string {
	if nr == 0 {
		return "?"
	}
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", minor+(major-136)*256)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	case major == 5 && minor == 1:
		return "console"
	}
	return fmt.Sprintf("%d,%d", major, minor)
}

// clock is procps's TIME ([DD-]HH:MM:SS) with hours always, or its
// ELAPSED ([[DD-]HH:]MM:SS).
func clock(sec uint64, hours bool) string {
	d, h, m, s := sec/86400, sec/3600%24, sec/60%60, sec%60
	switch {
	case d > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	case hours || h > 0:
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}
