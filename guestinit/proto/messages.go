package proto

// Hello opens the control stream, from host to guest and back.
type Hello struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version,omitempty"` // a3s-box or guestinit build version
	Kernel   string `json:"kernel,omitempty"`  // guest kernel release, guest side only
}

// Setup is the box configuration the guest applies before the first
// process starts. The guest answers with Ack, or Error.
type Setup struct {
	Hostname   string     `json:"hostname,omitempty"`
	Hosts      []HostLine `json:"hosts,omitempty"`      // extra /etc/hosts entries
	DNS        []string   `json:"dns,omitempty"`        // nameservers for /etc/resolv.conf
	DNSSearch  []string   `json:"dnsSearch,omitempty"`  // search domains
	DNSOptions []string   `json:"dnsOptions,omitempty"` // resolv.conf options
	// Mounts are the box's volumes, bind mounts and tmpfs mounts, mounted
	// in this order once the root is assembled.
	Mounts []Mount `json:"mounts,omitempty"`
	// Interfaces are the box's NIC slots and what each carries.
	Interfaces []Interface `json:"interfaces,omitempty"`
	// DNSRelay is the address (127.0.0.11) where the guest answers DNS
	// queries by relaying them to the host as DNSQuery streams; empty
	// for none.
	DNSRelay string `json:"dnsRelay,omitempty"`
	// MountsOnly is a maintenance boot's Setup (a file operation on a
	// stopped box): the volumes and bind mounts of Mounts and nothing
	// else, so that nothing of the box's own files is written.
	MountsOnly bool `json:"mountsOnly,omitempty"`
	// Domainname is the guest's NIS domain name.
	Domainname string `json:"domainname,omitempty"`
	// Sysctls are written under /proc/sys (dots for slashes) before any
	// process of the box starts.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// ShmSize is the size of /dev/shm in bytes; 0 keeps 64 MiB.
	ShmSize int64 `json:"shmSize,omitempty"`
	// PidsLimit bounds the processes of the box's cgroup; 0 for none.
	PidsLimit int64 `json:"pidsLimit,omitempty"`
	// ReadOnly remounts the box's root read-only once the rest of Setup
	// is applied: its mounts stay as they are.
	ReadOnly bool `json:"readOnly,omitempty"`
}

// Freeze freezes (Frozen) or thaws every process of the box, as pause
// and unpause do; the guest answers Ack once it is so, or Error.
// guestinit itself goes on answering while the box is frozen.
type Freeze struct {
	Frozen bool `json:"frozen"`
}

// Interface is one NIC slot of the box, found by its MAC address. A slot
// with no Address carries no network: down, without addresses.
type Interface struct {
	MAC     string `json:"mac"`
	Name    string `json:"name,omitempty"`    // the name to give the device (eth0, eth1...)
	Address string `json:"address,omitempty"` // CIDR, e.g. 10.89.0.2/24
	// Gateway, on one interface at most, is the default route's.
	Gateway string `json:"gateway,omitempty"`
}

// Network changes the box's interfaces while it runs (network connect and
// disconnect): the whole set of slots, which the guest applies as Setup's.
// The guest answers Ack, or Error.
type Network struct {
	Interfaces []Interface `json:"interfaces"`
}

// ShareTag is the 9p mount tag of the one share that carries all of a
// box's volumes and bind mounts, each a subdirectory (or file) of it.
const ShareTag = "a3s-share"

// Mount types.
const (
	MountBind  = "bind"  // Source names an entry of the share
	MountTmpfs = "tmpfs" // a memory filesystem in the guest
)

// Mount is one mount in the box.
type Mount struct {
	Type   string `json:"type"`
	Source string `json:"source,omitempty"` // the entry of the share (bind)
	Target string `json:"target"`           // absolute, in the box
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Seed copies what the image has at Target into an empty volume
	// before mounting it, keeping owners and modes, as Docker does for a
	// new volume.
	Seed bool `json:"seed,omitempty"`
	// Options are a tmpfs's: size=BYTES, mode=OCTAL, and the flags ro,
	// exec, suid, dev (nosuid, nodev and noexec are the default).
	Options []string `json:"options,omitempty"`
}

// HostLine is one /etc/hosts entry.
type HostLine struct {
	IP    string   `json:"ip"`
	Names []string `json:"names"`
}

// Exec starts a process in the box. Args are final: entrypoint and command
// were already combined by Docker's rules on the host.
type Exec struct {
	Args  []string `json:"args"`
	Env   []string `json:"env,omitempty"`
	Dir   string   `json:"dir,omitempty"`
	User  string   `json:"user,omitempty"` // "", uid, uid:gid, name or name:group
	Stdin bool     `json:"stdin,omitempty"`
	// Main marks the box's main process: when it ends the guest reports
	// Exit and powers the VM off once the host sends Shutdown.
	Main bool `json:"main,omitempty"`
	// Tty gives the process a pseudo-terminal of Rows x Cols as its
	// stdin, stdout and stderr (all output then comes as Stdout).
	Tty  bool   `json:"tty,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// Groups are supplementary groups (names or GIDs) added to the
	// user's (--group-add).
	Groups []string `json:"groups,omitempty"`
	// Caps, when not nil, is the process's capability bounding set, by
	// name without CAP_: a root process has these, another none. Nil
	// leaves every capability.
	Caps []string `json:"caps"`
	// Rlimits are set on the process before it starts.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// NoNewPrivs sets no_new_privs: setuid files and file capabilities
	// give the process nothing.
	NoNewPrivs bool `json:"noNewPrivs,omitempty"`
}

// Rlimit is one resource limit by Docker's --ulimit name; -1 is
// unlimited.
type Rlimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Resize sets the size of a process's pseudo-terminal.
type Resize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Started reports that an Exec'd process is running.
type Started struct {
	PID int `json:"pid"`
}

// Exit reports how a process ended. Code follows Docker: the process's
// status, 128+N when signal N killed it, 126 when the command cannot be
// executed and 127 when it is not found (Error then says why).
type Exit struct {
	Code   int    `json:"code"`
	Signal int    `json:"signal,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Signal asks the guest to send a signal to the stream's process.
type Signal struct {
	Signal int `json:"signal"`
}

// Shutdown asks the guest to sync its disks and power off.
type Shutdown struct{}

// Ack acknowledges a control message.
type Ack struct{}

// Error reports a failed control message.
type Error struct {
	Message string `json:"message"`
	// Code classifies a failed file system operation for the host's
	// message: one of the Err* codes below, or empty.
	Code string `json:"code,omitempty"`
}

// Codes of a failed file system operation. The Message then holds the
// path concerned.
const (
	ErrNotFound = "not-found" // the path does not exist in the box
	ErrEscape   = "escape"    // a symbolic link leads out of the box's root
)

func (e *Error) Error() string { return "guest: " + e.Message }

// ProcRequest opens a stream of its own (in place of Exec) and asks the
// guest for raw files of its /proc, for `top` and `stats`. The guest
// answers with ProcData frames, the last one with More false, and closes
// the stream. The host parses what comes back: guestinit stays a reader
// of files, and the host treats every byte as untrusted.
type ProcRequest struct {
	// Files are paths to read whole (each cut at MaxProcFile bytes),
	// such as /proc/meminfo or /etc/passwd; a missing one is left out.
	Files []string `json:"files,omitempty"`
	// Procs asks for every process's /proc/PID/stat; Cmdline adds its
	// /proc/PID/cmdline (cut at MaxCmdline bytes).
	Procs   bool `json:"procs,omitempty"`
	Cmdline bool `json:"cmdline,omitempty"`
}

// Bounds on what one ProcData answer carries per file.
const (
	MaxProcFile = 256 << 10
	MaxCmdline  = 4 << 10
)

// ProcData is one part of the guest's answer to ProcRequest; parts keep
// each frame under MaxPayload however many processes the box runs.
type ProcData struct {
	Files map[string][]byte `json:"files,omitempty"`
	Procs []ProcFiles       `json:"procs,omitempty"`
	More  bool              `json:"more,omitempty"`
}

// ProcFiles is one process's files. UID and GID are the owner of
// /proc/PID: the process's effective user and group.
type ProcFiles struct {
	PID     int    `json:"pid"`
	UID     uint32 `json:"uid"`
	GID     uint32 `json:"gid"`
	Stat    []byte `json:"stat"`
	Cmdline []byte `json:"cmdline,omitempty"`
}

// File system operations. Each runs on a stream of its own: the host sends
// FSRequest, the guest answers FSInfo (or Error), then the data flows as
// Data frames closed by DataEnd (or cut short by an Error), and a put ends
// with the guest's Ack or Error. Trees travel as tar streams; changes as
// JSON Change objects one after another.

// File system operations of an FSRequest.
const (
	FSGet    = "get"    // a tar of Path (one item, named Name), guest to host
	FSPut    = "put"    // a tar from the host, placed at Path by Docker's cp rules
	FSDiff   = "diff"   // the box's changes against its image, as Change objects
	FSLayer  = "layer"  // the box's changes as an OCI layer tar
	FSExport = "export" // a tar of the box's whole file system
)

// FSRequest asks the guest for a file system operation. Paths are
// resolved inside the box's root, as the box's own processes see it.
type FSRequest struct {
	Op   string `json:"op"`
	Path string `json:"path,omitempty"`
	// Follow follows a symbolic link at the end of Path (cp -L).
	Follow bool `json:"follow,omitempty"`
	// Owners keeps the tar's owners (cp -a); otherwise a put's files are
	// root's.
	Owners bool `json:"owners,omitempty"`
	// Name, Dir and Content describe what a put brings: one item called
	// Name (a directory when Dir), or with Content the entries of a
	// directory to merge into Path (SRC/. with Dir, which makes Path when
	// it is missing; or a tar read from stdin, which needs Path to be a
	// directory).
	Name    string `json:"name,omitempty"`
	Dir     bool   `json:"dir,omitempty"`
	Content bool   `json:"content,omitempty"`
	// Pause stops the box's processes while a layer is read (commit).
	Pause bool `json:"pause,omitempty"`
	// Spool names a file in the share's SpoolDir that carries the tar
	// instead of the stream: a put's tar is in it before the request
	// comes; a get, export or layer writes its tar into it and answers
	// Ack (or Error) once the tar is whole.
	Spool string `json:"spool,omitempty"`
}

// SpoolDir is the directory of a box's share through which bulk tars
// travel. The stream moves every byte through the guest's virtio-serial
// driver a page at a time; 9p moves large reads and writes straight
// between the host's file and the guest's buffers, several times faster
// under TCG.
const SpoolDir = ".spool"

// FSInfo is the guest's answer to an FSRequest before any data: for a
// get, what Path resolved to; for a put, where the item goes.
type FSInfo struct {
	Name string `json:"name,omitempty"` // the item's name in the tar
	Dir  bool   `json:"dir,omitempty"`
	Mode uint32 `json:"mode,omitempty"` // st_mode
	Size int64  `json:"size,omitempty"`
	Link string `json:"link,omitempty"` // a symbolic link's target
}

// Change is one line of `diff`: Kind is A (added), C (changed) or D
// (deleted).
type Change struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
}
