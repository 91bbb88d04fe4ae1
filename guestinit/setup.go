package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// hostsHeader is the start of Docker's /etc/hosts.
const hostsHeader = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// applySetup applies the box's identity: hostname, /etc/hostname,
// /etc/hosts, /etc/resolv.conf, and brings up loopback.
func applySetup(s *proto.Setup) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
		if err := writeEtc("/etc/hostname", s.Hostname+"\n"); err != nil {
			return err
		}
	}
	if err := writeEtc("/etc/hosts", hostsFile(s)); err != nil {
		return err
	}
	if len(s.DNS) > 0 || len(s.DNSSearch) > 0 || len(s.DNSOptions) > 0 {
		if err := writeEtc("/etc/resolv.conf", resolvConf(s)); err != nil {
			return err
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domain name: %w", err)
		}
	}
	if err := applyMounts(s.Mounts); err != nil {
		return err
	}
	if err := applyKernelSettings(s); err != nil {
		return err
	}
	return loopbackUp()
}

func hostsFile(s *proto.Setup) string {
	var b strings.Builder
	b.WriteString(hostsHeader)
	for _, h := range s.Hosts {
		fmt.Fprintf(&b, "%s\t%s\n", h.IP, strings.Join(h.Names, " "))
	}
	return b.String()
}

func resolvConf(s *proto.Setup) string {
	var b strings.Builder
	for _, ns := range s.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(s.DNSSearch) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(s.DNSSearch, " "))
	}
	if len(s.DNSOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(s.DNSOptions, " "))
	}
	return b.String()
}

// writeEtc replaces a file in the box's /etc; a symlink there (common for
// resolv.conf) is replaced rather than followed.
func writeEtc(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	defer keepTimes(filepath.Dir(path))()
	tmp := path + ".a3s-box"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
