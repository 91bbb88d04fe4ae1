package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

// runOptFlags are run's and create's flags for a box's process and kernel
// settings (spec.RunOptions), the ones Docker records without a meaning in
// a VM, the ones refused by name, and the CLI's own (--cidfile, --pull,
// --quiet, --platform, --attach).
type runOptFlags struct {
	o                     spec.RunOptions
	sysctls, ulimits      []string
	shmSize               string
	memReservation, swap  string
	expose, labelFiles    []string
	logDriver             string
	logOpts               []string
	platform              string
	cidfile, pull         string
	quiet                 bool
	attach                []string
	pidsLimit, cpuShares  int64
	capAdd, capDrop       []string
	securityOpt, groupAdd []string
}

// refusedFlags are Docker run flags that cannot mean anything for a box
// (or that a3s-box does not do), with the reason given when one is used.
var refusedFlags = map[string]string{
	"device":              "a box is a virtual machine with its own kernel: host devices are not passed through to it",
	"gpus":                "a box is a virtual machine with its own kernel: no GPU is passed through to it",
	"mac-address":         "a box's NIC addresses are derived from its ID and NIC slot and cannot be chosen",
	"pid":                 namespaceReason,
	"ipc":                 namespaceReason,
	"uts":                 namespaceReason,
	"userns":              namespaceReason,
	"cgroupns":            namespaceReason,
	"cgroup-parent":       "a box's processes are in its guest's own cgroup, and its VMM in a3s-box's",
	"runtime":             "every box is a QEMU microVM",
	"isolation":           "every box is a QEMU microVM",
	"device-cgroup-rule":  "no host device is passed through to a box",
	"device-read-bps":     "a box's disks are files of the host, not its devices",
	"device-write-bps":    "a box's disks are files of the host, not its devices",
	"device-read-iops":    "a box's disks are files of the host, not its devices",
	"device-write-iops":   "a box's disks are files of the host, not its devices",
	"blkio-weight":        "a box's disk I/O is its VMM's, not weighted",
	"blkio-weight-device": "a box's disk I/O is its VMM's, not weighted",
	"cpu-period":          "a box's CPU time is capped with --cpus",
	"cpu-quota":           "a box's CPU time is capped with --cpus",
	"cpu-rt-period":       "a box's vCPUs get no real-time scheduling",
	"cpu-rt-runtime":      "a box's vCPUs get no real-time scheduling",
	"cpuset-mems":         "a box's memory is its VM's (-m)",
	"kernel-memory":       "a box's memory is its VM's (-m)",
	"memory-swappiness":   "a box's guest has no swap",
	"oom-kill-disable":    "a box's memory is its VM's (-m): its own kernel handles running out",
	"oom-score-adj":       "a box's memory is its VM's (-m): its own kernel handles running out",
	"storage-opt":         "a box's writable disk has a fixed size",
	"ip6":                 "a3s-box networks are IPv4 only",
	"link-local-ip":       "a3s-box networks are IPv4 only",
	"link":                "boxes on one network reach each other by name; use --network",
	"volumes-from":        "name the volumes with -v instead",
	"init":                "a box's main process is never PID 1: guestinit is, and it reaps orphans",
	"volume-driver":       "volumes are local",
}

const namespaceReason = "a box is a virtual machine with its own kernel: it shares no namespace with the host or another box"

// refusedBools are the refused flags that Docker takes without a value.
var refusedBools = []string{"oom-kill-disable", "init"}

func (f *runOptFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.o.ReadOnly, "read-only", false, "Mount the box's root filesystem as read only")
	fs.StringArrayVar(&f.sysctls, "sysctl", nil, "Sysctl options (KEY=VALUE), set in the box's kernel")
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "Ulimit options (name=soft[:hard])")
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm (default 64m)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "Tune box pids limit (set -1 for unlimited)")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.BoolVar(&f.o.Privileged, "privileged", false, "Give every capability to the box's processes")
	fs.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security options (no-new-privileges)")
	fs.StringArrayVar(&f.groupAdd, "group-add", nil, "Add additional groups to join")
	fs.StringVar(&f.o.Domainname, "domainname", "", "Box NIS domain name")
	fs.StringArrayVar(&f.o.DNSSearch, "dns-search", nil, "Set custom DNS search domains")
	fs.StringArrayVar(&f.o.DNSOptions, "dns-option", nil, "Set DNS options")
	fs.StringArrayVar(&f.expose, "expose", nil, "Expose a port or a range of ports")
	fs.StringArrayVar(&f.labelFiles, "label-file", nil, "Read in a line delimited file of labels")
	fs.StringVar(&f.o.CPUSet, "cpuset-cpus", "", "CPUs in which to allow execution (recorded only)")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight; recorded only)")
	fs.StringVar(&f.memReservation, "memory-reservation", "", "Memory soft limit (recorded only)")
	fs.StringVar(&f.swap, "memory-swap", "", "Swap limit equal to memory plus swap (recorded only)")
	fs.StringVar(&f.logDriver, "log-driver", "", "Logging driver for the box (json-file, local, none)")
	fs.StringArrayVar(&f.logOpts, "log-opt", nil, "Log driver options (max-size, max-file)")
	for name, why := range refusedFlags {
		fs.StringArray(name, nil, "Refused: "+why)
		if slices.Contains(refusedBools, name) {
			fs.Lookup(name).NoOptDefVal = "true"
		}
		_ = fs.MarkHidden(name) // docs/cli.md lists them

	}
	fs.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable (linux/amd64 only)")
	fs.StringVar(&f.cidfile, "cidfile", "", "Write the box ID to the file")
	fs.StringVar(&f.pull, "pull", "missing", "Pull image before running (always, missing, never)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress the pull output")
	fs.StringArrayVarP(&f.attach, "attach", "a", nil, "Attach to STDIN, STDOUT or STDERR")
}

// apply checks the flags and puts them into b.
func (f *runOptFlags) apply(fs *pflag.FlagSet, b *spec.Box) error {
	var refused []string
	fs.Visit(func(fl *pflag.Flag) {
		if _, ok := refusedFlags[fl.Name]; ok {
			refused = append(refused, fl.Name)
		}
	})
	if len(refused) > 0 {
		return fmt.Errorf("--%s is not supported: %s", refused[0], refusedFlags[refused[0]])
	}
	if f.platform != "" && f.platform != "linux/amd64" && f.platform != "linux/x86_64" {
		return fmt.Errorf("--platform %s is not supported: a box boots a linux/amd64 kernel and runs linux/amd64 images only", f.platform)
	}
	switch f.pull {
	case "always", "missing", "never":
	default:
		return fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", f.pull)
	}
	for _, a := range f.attach {
		switch strings.ToLower(a) {
		case "stdin", "stdout", "stderr":
		default:
			return fmt.Errorf("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	o := f.o
	for _, s := range f.sysctls {
		k, v, err := spec.ParseSysctl(s)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"--sysctl\" flag: %v", s, err)
		}
		if o.Sysctls == nil {
			o.Sysctls = map[string]string{}
		}
		o.Sysctls[k] = v
	}
	for _, s := range f.ulimits {
		u, err := spec.ParseUlimit(s)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"--ulimit\" flag: %v", s, err)
		}
		o.Ulimits = slices.DeleteFunc(o.Ulimits, func(x spec.Ulimit) bool { return x.Name == u.Name })
		o.Ulimits = append(o.Ulimits, u)
	}
	var err error
	if o.ShmSize, err = sizeFlag("shm-size", f.shmSize); err != nil {
		return err
	}
	if o.MemReservation, err = sizeFlag("memory-reservation", f.memReservation); err != nil {
		return err
	}
	if f.swap == "-1" {
		o.MemSwap = -1
	} else if o.MemSwap, err = sizeFlag("memory-swap", f.swap); err != nil {
		return err
	}
	if o.MemSwap > 0 && b.Memory == 0 {
		return errors.New("you should always set the memory limit when using memoryswap limit, see usage")
	}
	if o.MemSwap > 0 && o.MemSwap < b.Memory {
		return errors.New("minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if f.cpuShares < 0 {
		return fmt.Errorf("invalid --cpu-shares %d: must not be negative", f.cpuShares)
	}
	if o.CPUSet != "" && !validCPUSet(o.CPUSet) {
		return fmt.Errorf("invalid value %s for cpuset cpus", o.CPUSet)
	}
	o.CPUShares, o.PidsLimit = f.cpuShares, f.pidsLimit
	for _, c := range f.capAdd {
		n, err := spec.CapName(c)
		if err != nil {
			return fmt.Errorf("invalid --cap-add: %v", err)
		}
		o.CapAdd = append(o.CapAdd, n)
	}
	for _, c := range f.capDrop {
		n, err := spec.CapName(c)
		if err != nil {
			return fmt.Errorf("invalid --cap-drop: %v", err)
		}
		o.CapDrop = append(o.CapDrop, n)
	}
	o.SecurityOpt, o.GroupAdd = f.securityOpt, f.groupAdd
	for _, g := range o.GroupAdd {
		if g == "" || strings.ContainsAny(g, ":\n") {
			return fmt.Errorf("invalid --group-add %q: want a group name or GID", g)
		}
	}
	if o.Domainname != "" && !spec.ValidHostname(o.Domainname) {
		return fmt.Errorf("invalid --domainname %q: want a domain name", o.Domainname)
	}
	for _, d := range o.DNSSearch {
		if d != "." && !spec.ValidHostname(d) {
			return fmt.Errorf("invalid --dns-search %q: want a domain name", d)
		}
	}
	for _, d := range o.DNSOptions {
		if d == "" || strings.ContainsAny(d, " \t\n") {
			return fmt.Errorf("invalid --dns-option %q: want one resolv.conf option, such as ndots:2", d)
		}
	}
	for _, e := range f.expose {
		ports, err := exposedPorts(e)
		if err != nil {
			return err
		}
		for _, p := range ports {
			if !slices.Contains(o.Expose, p) {
				o.Expose = append(o.Expose, p)
			}
		}
	}
	if f.logDriver != "" || len(f.logOpts) > 0 {
		o.Logging = &spec.Logging{Driver: f.logDriver}
		for _, kv := range f.logOpts {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("invalid --log-opt %q: want KEY=VALUE", kv)
			}
			if o.Logging.Options == nil {
				o.Logging.Options = map[string]string{}
			}
			o.Logging.Options[k] = v
		}
		if err := checkLogOpts(o.Logging); err != nil {
			return err
		}
	}
	if err := spec.CheckRunOptions(&o); err != nil {
		return err
	}
	for _, file := range f.labelFiles {
		labels, err := readLabelFile(file)
		if err != nil {
			return err
		}
		for k, v := range labels {
			if b.Labels == nil {
				b.Labels = map[string]string{}
			}
			if _, set := b.Labels[k]; !set {
				b.Labels[k] = v
			}
		}
	}
	b.RunOptions = o
	return nil
}

// checkLogOpts refuses log options the json log cannot follow.
func checkLogOpts(l *spec.Logging) error {
	if l.Driver == "none" && len(l.Options) > 0 {
		return errors.New("invalid --log-opt: the none log driver takes no options")
	}
	if v, ok := l.Options["max-size"]; ok {
		if n, err := spec.ParseBytes(v); err != nil || n <= 0 {
			return fmt.Errorf("invalid --log-opt max-size=%s: want a size such as 10m", v)
		}
	}
	if v, ok := l.Options["max-file"]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			return fmt.Errorf("invalid --log-opt max-file=%s: want a count of at least 1", v)
		}
	}
	return nil
}

func sizeFlag(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := spec.ParseBytes(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid argument %q for \"--%s\" flag: want a size such as 64m", v, name)
	}
	return n, nil
}

// validCPUSet checks Docker's cpuset list: 0-3,5.
func validCPUSet(s string) bool {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return false
		}
		if isRange {
			if b, err := strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return false
			}
		}
	}
	return true
}

// exposedPorts reads --expose's PORT[-PORT][/PROTO] as "PORT/PROTO"
// entries, one a port.
func exposedPorts(s string) ([]string, error) {
	port, proto, _ := strings.Cut(s, "/")
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid --expose %q: protocol must be tcp, udp or sctp", s)
	}
	lo, hi, isRange := strings.Cut(port, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	b := a
	if err == nil && isRange {
		b, err = strconv.ParseUint(hi, 10, 16)
	}
	if err != nil || a == 0 || b < a {
		return nil, fmt.Errorf("invalid --expose %q: want PORT[-PORT][/PROTO]", s)
	}
	var out []string
	for p := a; p <= b; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// readLabelFile reads Docker's --label-file: KEY=VALUE lines (a line
// without = is a label with an empty value); blank lines and lines
// starting with # are skipped.
func readLabelFile(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read label file: %w", err)
	}
	defer fh.Close()
	labels := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		labels[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read label file %s: %w", path, err)
	}
	return labels, nil
}

// writeCIDFile makes the --cidfile, refusing one that exists as Docker
// does; it is made before the box so that a second run with it fails
// before it makes anything.
func writeCIDFile(path string) (write func(id string) error, remove func(), err error) {
	if path == "" {
		return func(string) error { return nil }, func() {}, nil
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", path)
		}
		return nil, nil, fmt.Errorf("failed to create the container ID file: %w", err)
	}
	write = func(id string) error {
		defer fh.Close()
		if _, err := fh.WriteString(id); err != nil {
			return fmt.Errorf("failed to write the container ID to the file: %w", err)
		}
		return nil
	}
	return write, func() { fh.Close(); os.Remove(path) }, nil
}
