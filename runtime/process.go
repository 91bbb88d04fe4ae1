package runtime

import (
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/spec"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrNoCommand is Docker's "No command specified".
var ErrNoCommand = errors.New("no command specified")

// MainProcess combines a box's settings with its image's config by
// Docker's rules: --entrypoint replaces the image's ENTRYPOINT and drops
// its CMD; a command replaces CMD; environment variables are merged by key,
// the box's winning; HOSTNAME is set to the box's hostname.
func MainProcess(b *spec.Box, img *v1.Config, hostname string) (*proto.Exec, error) {
	var entrypoint, cmd []string
	if img != nil {
		entrypoint, cmd = img.Entrypoint, img.Cmd
	}
	if b.Entrypoint != nil {
		entrypoint, cmd = b.Entrypoint, nil
	}
	if len(b.Command) > 0 {
		cmd = b.Command
	}
	args := append(append([]string(nil), entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, ErrNoCommand
	}
	ex := &proto.Exec{Args: args, Main: true, Tty: b.Tty}
	var imgEnv []string
	if img != nil {
		imgEnv = img.Env
		ex.Dir, ex.User = img.WorkingDir, img.User
	}
	ex.Env = spec.MergeEnv([]string{"HOSTNAME=" + hostname}, imgEnv, b.Env)
	if b.WorkingDir != "" {
		if !path.IsAbs(b.WorkingDir) {
			return nil, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", b.WorkingDir)
		}
		ex.Dir = b.WorkingDir
	}
	if b.User != "" {
		ex.User = b.User
	}
	processSecurity(ex, &b.RunOptions)
	return ex, nil
}

// processSecurity gives a box's process the capabilities, limits, groups
// and no_new_privs its box asks for.
func processSecurity(ex *proto.Exec, o *spec.RunOptions) {
	ex.Caps = o.CapabilitySet()
	if ex.Caps == nil {
		ex.Caps = []string{} // none, which nil would not say
	}
	ex.NoNewPrivs = o.NoNewPrivileges()
	ex.Groups = o.GroupAdd
	for _, u := range o.Ulimits {
		ex.Rlimits = append(ex.Rlimits, proto.Rlimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
}

// kernelSetup adds to a box's Setup what its run options ask of the
// guest kernel and of /etc/resolv.conf.
func kernelSetup(s *proto.Setup, o *spec.RunOptions) {
	s.Domainname, s.Sysctls, s.ShmSize, s.ReadOnly = o.Domainname, o.Sysctls, o.ShmSize, o.ReadOnly
	if o.PidsLimit > 0 {
		s.PidsLimit = o.PidsLimit
	}
	if len(o.DNSSearch) > 0 {
		// Docker's --dns-search . leaves the search line out.
		s.DNSSearch = slices.DeleteFunc(slices.Clone(o.DNSSearch), func(d string) bool { return d == "." })
	}
	if len(o.DNSOptions) > 0 {
		s.DNSOptions = o.DNSOptions
	}
}
