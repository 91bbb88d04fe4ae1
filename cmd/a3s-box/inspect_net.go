package main

import (
	"fmt"
	"strconv"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
)

// inspectPort is one host binding of a box port, Docker's shape.
type inspectPort struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// inspectEndpoint is the box on one network, Docker's shape.
type inspectEndpoint struct {
	Aliases     []string `json:"Aliases"`
	MacAddress  string   `json:"MacAddress"`
	NetworkID   string   `json:"NetworkID"`
	EndpointID  string   `json:"EndpointID"`
	Gateway     string   `json:"Gateway"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	DNSNames    []string `json:"DNSNames"`
}

func newInspectNetwork(eng *engine.Engine, b *runtime.Box) inspectNetwork {
	ns := inspectNetwork{Ports: map[string][]inspectPort{}, Networks: map[string]inspectEndpoint{}}
	for _, p := range sortedBindings(boxBindings(b)) {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		ns.Ports[k] = append(ns.Ports[k], inspectPort{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	ms, err := eng.Memberships(b)
	if err != nil {
		return ns
	}
	for i, m := range ms {
		e := inspectEndpoint{
			Aliases: orEmpty(m.Endpoint.Aliases), MacAddress: m.Endpoint.MAC, NetworkID: m.Network.ID,
			EndpointID: m.Endpoint.ID, Gateway: m.Network.Gateway.String(), IPAddress: m.Endpoint.IP.String(),
			IPPrefixLen: m.Network.Subnet.Bits(),
			DNSNames:    append([]string{b.Name, b.ID[:12]}, m.Endpoint.Aliases...),
		}
		ns.Networks[m.Network.Name] = e
		if i == 0 {
			ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MacAddress = e.IPAddress, e.IPPrefixLen, e.Gateway, e.MacAddress
		}
	}
	return ns
}

// networkMode is Docker's HostConfig.NetworkMode: the first network the
// box was created on.
func networkMode(b *runtime.Box) string {
	if len(b.Spec.Networks) == 0 {
		return network.DefaultName
	}
	return b.Spec.Networks[0].Name
}

// portBindings are the ports the box asked for, Docker's shape (an empty
// HostPort asks for any free port).
func portBindings(b *runtime.Box) map[string][]inspectPort {
	out := map[string][]inspectPort{}
	for _, p := range b.Spec.Ports {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto())
		hp := ""
		if p.HostPort != 0 {
			hp = strconv.Itoa(int(p.HostPort))
		}
		out[k] = append(out[k], inspectPort{HostIP: p.HostIP, HostPort: hp})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
