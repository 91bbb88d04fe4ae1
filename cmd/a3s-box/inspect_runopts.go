package main

import (
	"maps"

	"github.com/a3s-box/a3s-box/spec"
)

// inspectRunHost is HostConfig's part for a box's run options, by
// Docker's names.
type inspectRunHost struct {
	ReadonlyRootfs    bool              `json:"ReadonlyRootfs"`
	Sysctls           map[string]string `json:"Sysctls,omitempty"`
	Ulimits           []inspectUlimit   `json:"Ulimits"`
	ShmSize           int64             `json:"ShmSize"`
	PidsLimit         *int64            `json:"PidsLimit"`
	CapAdd            []string          `json:"CapAdd"`
	CapDrop           []string          `json:"CapDrop"`
	Privileged        bool              `json:"Privileged"`
	SecurityOpt       []string          `json:"SecurityOpt"`
	GroupAdd          []string          `json:"GroupAdd"`
	DNSSearch         []string          `json:"DnsSearch"`
	DNSOptions        []string          `json:"DnsOptions"`
	CpusetCpus        string            `json:"CpusetCpus"`
	CPUShares         int64             `json:"CpuShares"`
	MemoryReservation int64             `json:"MemoryReservation"`
	MemorySwap        int64             `json:"MemorySwap"`
	LogConfig         inspectLogConfig  `json:"LogConfig"`
}

type inspectUlimit struct {
	Name string `json:"Name"`
	Hard int64  `json:"Hard"`
	Soft int64  `json:"Soft"`
}

type inspectLogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// inspectRunConfig is Config's part for a box's run options.
type inspectRunConfig struct {
	Domainname   string              `json:"Domainname"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

// newInspectRun gives a box's run options in Docker's inspect shape: the
// effective /dev/shm size (Docker's 64 MiB when not set) and log driver.
func newInspectRun(o *spec.RunOptions) (inspectRunHost, inspectRunConfig) {
	h := inspectRunHost{
		ReadonlyRootfs: o.ReadOnly, Sysctls: o.Sysctls, Ulimits: []inspectUlimit{}, ShmSize: o.ShmSize,
		CapAdd: orEmpty(o.CapAdd), CapDrop: orEmpty(o.CapDrop), Privileged: o.Privileged,
		SecurityOpt: orEmpty(o.SecurityOpt), GroupAdd: orEmpty(o.GroupAdd),
		DNSSearch: orEmpty(o.DNSSearch), DNSOptions: orEmpty(o.DNSOptions),
		CpusetCpus: o.CPUSet, CPUShares: o.CPUShares, MemoryReservation: o.MemReservation, MemorySwap: o.MemSwap,
		LogConfig: inspectLogConfig{Type: "json-file", Config: map[string]string{}},
	}
	if h.ShmSize == 0 {
		h.ShmSize = 64 << 20
	}
	if o.PidsLimit > 0 {
		n := o.PidsLimit
		h.PidsLimit = &n
	}
	for _, u := range o.Ulimits {
		h.Ulimits = append(h.Ulimits, inspectUlimit{Name: u.Name, Hard: u.Hard, Soft: u.Soft})
	}
	if l := o.Logging; l != nil {
		if l.Driver != "" {
			h.LogConfig.Type = l.Driver
		}
		maps.Copy(h.LogConfig.Config, l.Options)
	}
	c := inspectRunConfig{Domainname: o.Domainname}
	for _, p := range o.Expose {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	return h, c
}
