package runtime

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
)

// GuestInfo is what the last guest to boot under a root said of itself in
// its Hello, for `version` and `info`: the guest agent's build and
// protocol, and the kernel it runs. Only a boot can tell: the agent is
// inside the initramfs.
type GuestInfo struct {
	Version  string    `json:"version"`
	Protocol int       `json:"protocol"`
	Kernel   string    `json:"kernel"`
	Initrd   string    `json:"initrd"` // the initramfs it booted from
	Box      string    `json:"box"`    // the box it booted, by name
	Seen     time.Time `json:"seen"`
}

func (r *Runtime) guestInfoPath() string { return filepath.Join(r.root, "guest.json") }

// recordGuest keeps what a booted guest said. Every boot says the same
// until the initramfs or kernel changes, so the file is only rewritten
// then, sparing each boot a synced write.
func (r *Runtime) recordGuest(h proto.Hello, box string) {
	now := GuestInfo{Version: h.Version, Protocol: h.Protocol, Kernel: h.Kernel, Initrd: r.Initrd, Box: box, Seen: time.Now().UTC()}
	var old GuestInfo
	if statefile.ReadJSON(r.guestInfoPath(), &old) == nil &&
		old.Version == now.Version && old.Protocol == now.Protocol && old.Kernel == now.Kernel && old.Initrd == now.Initrd {
		return
	}
	if err := statefile.WriteJSON(r.guestInfoPath(), &now); err != nil {
		r.warnf("record the guest's version: %v", err)
	}
}

// LastGuest returns what the last guest to boot under this root said of
// itself, or nil when none has booted yet.
func (r *Runtime) LastGuest() (*GuestInfo, error) {
	var g GuestInfo
	err := statefile.ReadJSON(r.guestInfoPath(), &g)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &g, nil
}
