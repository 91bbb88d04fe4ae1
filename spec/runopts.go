package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// RunOptions are the settings of docker run and create that a box keeps
// beyond its process and its mounts: what the guest kernel applies to the
// box's processes, and what Docker records without a meaning in a VM of
// fixed size. They are set by run and create; a stack file does not read
// them yet.
type RunOptions struct {
	// ReadOnly mounts the box's root file system read-only: only its
	// tmpfs mounts and volumes can be written.
	ReadOnly bool `json:"read_only,omitempty"`
	// Sysctls are written under /proc/sys in the guest before the main
	// process starts. Every sysctl is the box's own kernel's.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Ulimits are the resource limits of the main process and of execs.
	Ulimits []Ulimit `json:"ulimits,omitempty"`
	// ShmSize is the size of /dev/shm in bytes; 0 means Docker's 64 MiB.
	ShmSize int64 `json:"shm_size,omitempty"`
	// PidsLimit bounds how many processes the box runs at once (the
	// guest's pids cgroup); 0 or less means no bound.
	PidsLimit int64 `json:"pids_limit,omitempty"`
	// CapAdd and CapDrop change Docker's default capability set of the
	// box's processes, by name (CAP_ optional) or ALL.
	CapAdd  []string `json:"cap_add,omitempty"`
	CapDrop []string `json:"cap_drop,omitempty"`
	// Privileged gives the box's processes every capability.
	Privileged bool `json:"privileged,omitempty"`
	// SecurityOpt holds Docker's --security-opt entries; only
	// no-new-privileges has a meaning here.
	SecurityOpt []string `json:"security_opt,omitempty"`
	// GroupAdd are supplementary groups (names or GIDs) of the box's
	// processes.
	GroupAdd []string `json:"group_add,omitempty"`
	// Domainname is the guest's NIS domain name.
	Domainname string `json:"domainname,omitempty"`
	// DNSSearch and DNSOptions replace the search and options lines of
	// the box's /etc/resolv.conf.
	DNSSearch  []string `json:"dns_search,omitempty"`
	DNSOptions []string `json:"dns_opt,omitempty"`
	// Expose are ports the box says it listens on, without publishing
	// them: "PORT/PROTO".
	Expose []string `json:"expose,omitempty"`

	// Recorded: a VM has its own CPUs and memory; these say nothing more
	// about them (see docs/cli.md).
	CPUSet         string `json:"cpuset,omitempty"`
	CPUShares      int64  `json:"cpu_shares,omitempty"`
	MemReservation int64  `json:"mem_reservation,omitempty"`
	MemSwap        int64  `json:"memswap_limit,omitempty"`
	// Logging is the box's log driver: json-file (the default), local,
	// or none (no log kept).
	Logging *Logging `json:"logging,omitempty"`
}

// Ulimit is one resource limit; Hard is Soft when not given.
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Logging is a log driver and its options.
type Logging struct {
	Driver  string            `json:"driver,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// LogNone reports whether the box keeps no log.
func (o *RunOptions) LogNone() bool { return o.Logging != nil && o.Logging.Driver == "none" }

// NoNewPrivileges reports whether the box's processes run with
// no_new_privs set (--security-opt no-new-privileges).
func (o *RunOptions) NoNewPrivileges() bool {
	for _, s := range o.SecurityOpt {
		if s == "no-new-privileges" || s == "no-new-privileges=true" || s == "no-new-privileges:true" {
			return true
		}
	}
	return false
}

// UlimitNames are Docker's --ulimit names.
var UlimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// ParseUlimit reads Docker's name=soft[:hard]; -1 is unlimited.
func ParseUlimit(s string) (Ulimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return Ulimit{}, fmt.Errorf("invalid ulimit argument: %s", s)
	}
	if !slices.Contains(UlimitNames, name) {
		return Ulimit{}, fmt.Errorf("invalid ulimit type: %s", name)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil || soft < -1 {
		return Ulimit{}, fmt.Errorf("invalid ulimit soft value: %s", softS)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil || hard < -1 {
			return Ulimit{}, fmt.Errorf("invalid ulimit hard value: %s", hardS)
		}
	}
	if hard != -1 && (soft == -1 || soft > hard) {
		return Ulimit{}, fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", soft, hard)
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

func (u Ulimit) String() string {
	if u.Soft == u.Hard {
		return fmt.Sprintf("%s=%d", u.Name, u.Soft)
	}
	return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard)
}

// sysctlName is a sysctl's dotted name: each part a name of /proc/sys.
var sysctlName = regexp.MustCompile(`^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)+$`)

// ParseSysctl reads KEY=VALUE. The name takes dots (or slashes, as
// /proc/sys spells it) between parts, and nothing that leads out of
// /proc/sys.
func ParseSysctl(s string) (key, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("sysctl %q is not in the form KEY=VALUE", s)
	}
	key = strings.ReplaceAll(name, "/", ".")
	if !sysctlName.MatchString(key) {
		return "", "", fmt.Errorf("sysctl %q: the name must be dotted parts of letters, digits, '_' and '-', such as net.ipv4.ip_forward", name)
	}
	if strings.ContainsAny(value, "\n\x00") {
		return "", "", fmt.Errorf("sysctl %q: the value must be one line", key)
	}
	return key, value, nil
}

// Capabilities are the Linux capabilities by number (CAP_ prefix left
// out), as Linux 6.1 numbers them.
var Capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// DefaultCapabilities is Docker's default set for a container's processes.
var DefaultCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
}

// CapName normalises a capability name: upper case, without CAP_; ALL
// stays ALL. It refuses a name Linux does not have.
func CapName(s string) (string, error) {
	n := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
	if n == "ALL" || slices.Contains(Capabilities, n) {
		return n, nil
	}
	return "", fmt.Errorf("unknown capability: %q", s)
}

// CapabilitySet is the box's capabilities by Docker's rules: every one
// when privileged; else the default set, less CapDrop, plus CapAdd (ALL
// in either meaning every capability), an added one winning over a drop.
func (o *RunOptions) CapabilitySet() []string {
	if o.Privileged || slices.Contains(o.CapAdd, "ALL") {
		return slices.Clone(Capabilities)
	}
	var set []string
	if !slices.Contains(o.CapDrop, "ALL") {
		for _, c := range DefaultCapabilities {
			if !slices.Contains(o.CapDrop, c) {
				set = append(set, c)
			}
		}
	}
	for _, c := range o.CapAdd {
		if !slices.Contains(set, c) {
			set = append(set, c)
		}
	}
	// In the kernel's order, so the set reads the same however it was
	// asked for.
	slices.SortFunc(set, func(a, b string) int { return slices.Index(Capabilities, a) - slices.Index(Capabilities, b) })
	return set
}

// CheckRunOptions refuses settings that cannot be applied, each with its
// reason.
func CheckRunOptions(o *RunOptions) error {
	for k, v := range o.Sysctls {
		if _, _, err := ParseSysctl(k + "=" + v); err != nil {
			return err
		}
	}
	for _, c := range append(slices.Clone(o.CapAdd), o.CapDrop...) {
		if n, err := CapName(c); err != nil || n != c {
			return fmt.Errorf("capability %q: %v", c, "want an upper-case name without CAP_, or ALL")
		}
	}
	for _, s := range o.SecurityOpt {
		switch s {
		case "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true", "no-new-privileges=false", "no-new-privileges:false":
			continue
		}
		return fmt.Errorf("invalid --security-opt %q: a box's guest has no seccomp, AppArmor or SELinux policy to choose; only no-new-privileges is taken", s)
	}
	if o.ShmSize < 0 {
		return fmt.Errorf("invalid shm size %d: must not be negative", o.ShmSize)
	}
	if l := o.Logging; l != nil {
		switch l.Driver {
		case "", "json-file", "local", "none":
		default:
			return fmt.Errorf("log driver %q is not taken: a box's log is a3s-box's own json-file log (json-file, local) or none", l.Driver)
		}
		for k := range l.Options {
			if k != "max-size" && k != "max-file" {
				return fmt.Errorf("log option %q is not taken: only max-size and max-file are", k)
			}
		}
	}
	return nil
}
