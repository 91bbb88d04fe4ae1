package spec

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Port is one published port: connections to HostIP:HostPort on the host
// reach ContainerPort in the box.
type Port struct {
	// HostIP is the host address to listen on; empty means every address.
	HostIP string `json:"host_ip,omitempty"`
	// HostPort 0 asks for an ephemeral port.
	HostPort      uint16 `json:"published,omitempty"`
	ContainerPort uint16 `json:"target"`
	// Protocol is "tcp" or "udp"; empty means "tcp".
	Protocol string `json:"protocol,omitempty"`
}

// Proto returns the port's protocol, "tcp" when unset.
func (p Port) Proto() string {
	if p.Protocol == "" {
		return "tcp"
	}
	return p.Protocol
}

// String writes the port in Docker's -p notation.
func (p Port) String() string {
	var b strings.Builder
	if p.HostIP != "" {
		if strings.Contains(p.HostIP, ":") {
			fmt.Fprintf(&b, "[%s]:", p.HostIP)
		} else {
			b.WriteString(p.HostIP + ":")
		}
	}
	if p.HostPort != 0 {
		fmt.Fprintf(&b, "%d:", p.HostPort)
	} else if p.HostIP != "" {
		b.WriteString(":")
	}
	fmt.Fprintf(&b, "%d/%s", p.ContainerPort, p.Proto())
	return b.String()
}

// ParsePorts reads Docker's and compose's short port notation,
// [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL], where either port may
// be a range (8000-8010) and a host range needs a container range of the
// same length. A range gives one Port per port.
func ParsePorts(s string) ([]Port, error) {
	bad := func(why string) error { return fmt.Errorf("invalid port %q: %s", s, why) }
	rest, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		if err := checkProtocol(proto); err != nil {
			return nil, bad(err.Error())
		}
	}
	var hostIP, hostPart, ctrPart string
	switch i := strings.LastIndex(rest, ":"); {
	case i < 0:
		ctrPart = rest
	default:
		ctrPart = rest[i+1:]
		host := rest[:i]
		if j := strings.LastIndex(host, ":"); j >= 0 {
			hostIP, hostPart = host[:j], host[j+1:]
			hostIP = strings.TrimSuffix(strings.TrimPrefix(hostIP, "["), "]")
			if err := checkIP(hostIP); err != nil {
				return nil, bad(err.Error())
			}
		} else {
			hostPart = host
		}
	}
	ctrLo, ctrHi, err := parsePortRange(ctrPart, false)
	if err != nil {
		return nil, bad("container port: " + err.Error())
	}
	var hostLo, hostHi uint16
	if hostPart != "" {
		if hostLo, hostHi, err = parsePortRange(hostPart, true); err != nil {
			return nil, bad("host port: " + err.Error())
		}
		if hostHi-hostLo != ctrHi-ctrLo {
			return nil, bad("the host and container ranges differ in length")
		}
	}
	if proto == "tcp" {
		proto = ""
	}
	out := make([]Port, 0, int(ctrHi-ctrLo)+1)
	for i := 0; i <= int(ctrHi-ctrLo); i++ {
		p := Port{HostIP: hostIP, ContainerPort: ctrLo + uint16(i), Protocol: proto}
		if hostLo != 0 {
			p.HostPort = hostLo + uint16(i)
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePortRange reads "N" or "LO-HI"; zero is a port only for the host
// side, where it asks for an ephemeral port.
func parsePortRange(s string, zeroOK bool) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePortNumber(a, zeroOK && !isRange); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePortNumber(b, false); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %s ends before it starts", s)
		}
	}
	return lo, hi, nil
}

func parsePortNumber(s string, zeroOK bool) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > 65535 || (n == 0 && !zeroOK) {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}

func checkProtocol(p string) error {
	switch p {
	case "tcp", "udp":
		return nil
	}
	return fmt.Errorf("protocol %q: want tcp or udp", p)
}

func checkIP(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	return nil
}
