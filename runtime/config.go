package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/a3s-box/a3s-box/spec"
	"sigs.k8s.io/yaml"
)

// Config is how a3s-box runs boxes on this host. Values come from the
// config file (<root>/config.yaml, or A3S_BOX_CONFIG), then environment
// variables, then command-line flags, each overriding the one before.
type Config struct {
	Root   string `json:"-"`
	Accel  string `json:"accel,omitempty"`  // kvm, tcg or auto
	Kernel string `json:"kernel,omitempty"` // guest kernel image
	Initrd string `json:"initrd,omitempty"` // initramfs built for that kernel
	QEMU   string `json:"qemu,omitempty"`   // qemu-system-x86_64 binary
	// ReadyTimeout bounds one boot attempt's wait for the guest's hello.
	ReadyTimeout spec.Duration `json:"readyTimeout,omitempty"`
	// BootAttempts is how many times a boot that missed its deadline is
	// retried in all.
	BootAttempts int      `json:"bootAttempts,omitempty"`
	Insecure     []string `json:"insecureRegistries,omitempty"`

	// AccelSource says where Accel came from, for `info` and errors.
	AccelSource string `json:"-"`
	// Warn receives notices about boxes repaired after a crash.
	Warn io.Writer `json:"-"`
}

// DefaultRoot is where a3s-box keeps its state: /var/lib/a3s-box for root,
// the XDG data directory otherwise.
func DefaultRoot() string {
	if os.Geteuid() == 0 {
		return "/var/lib/a3s-box"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "a3s-box")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "a3s-box")
}

// LoadConfig reads the config file under root (or A3S_BOX_CONFIG) and the
// environment. A missing file is fine; a malformed one is an error.
func LoadConfig(root string) (*Config, error) {
	c := &Config{Root: root}
	path := os.Getenv("A3S_BOX_CONFIG")
	explicit := path != ""
	if !explicit {
		path = filepath.Join(root, "config.yaml")
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.UnmarshalStrict(b, c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		if c.Accel != "" {
			c.AccelSource = path
		}
	case !errors.Is(err, os.ErrNotExist) || explicit:
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"A3S_BOX_KERNEL", &c.Kernel},
		{"A3S_BOX_INITRD", &c.Initrd},
		{"A3S_BOX_QEMU", &c.QEMU},
	} {
		if v := os.Getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	if v := os.Getenv("A3S_BOX_ACCEL"); v != "" {
		c.Accel, c.AccelSource = v, "A3S_BOX_ACCEL"
	}
	if v := os.Getenv("A3S_BOX_READY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("A3S_BOX_READY_TIMEOUT: %w", err)
		}
		c.ReadyTimeout = spec.Duration(d)
	}
	return c, nil
}

// guestFile finds a file shipped beside a3s-box under one of names (the
// first found wins): next to the executable, then in ../share/a3s-box and
// /usr/share/a3s-box. name is what errors call it.
func guestFile(configured, name string, names ...string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return configured, nil
	}
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			d := filepath.Dir(exe)
			dirs = append(dirs, d, filepath.Join(d, "..", "share", "a3s-box"))
		}
	}
	dirs = append(dirs, "/usr/share/a3s-box")
	for _, d := range dirs {
		for _, n := range names {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found beside a3s-box or in /usr/share/a3s-box: run `make build`, or set it in the config file", name)
}
