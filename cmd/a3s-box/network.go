package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime/network"
)

func init() {
	register(&verb{name: "network", summary: "Manage networks", errCode: 1, run: networkVerb})
}

var networkSubcommands = map[string]subcommand{
	"create":     {networkCreateVerb, "Create a network"},
	"ls":         {networkLsVerb, "List networks"},
	"list":       {networkLsVerb, ""},
	"inspect":    {networkInspectVerb, "Display detailed information on one or more networks"},
	"rm":         {networkRmVerb, "Remove one or more networks"},
	"remove":     {networkRmVerb, ""},
	"prune":      {networkPruneVerb, "Remove all unused networks"},
	"connect":    {networkConnectVerb, "Connect a box to a network"},
	"disconnect": {networkDisconnectVerb, "Disconnect a box from a network"},
}

func networkVerb(ctx context.Context, c *cli, args []string) error {
	return c.subcommands(ctx, "network", "Manage networks", networkSubcommands, args)
}

func networkCreateVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network create", "network create [OPTIONS] NETWORK", "Create a network")
	driver := fs.StringP("driver", "d", network.Driver, "Driver to manage the Network (bridge is the only one)")
	subnet := fs.String("subnet", "", "Subnet in CIDR format that represents a network segment")
	gateway := fs.String("gateway", "", "IPv4 Gateway for the master subnet")
	internal := fs.Bool("internal", false, "Restrict external access to the network")
	labels := fs.StringArrayP("label", "l", nil, "Set metadata on a network")
	opts := fs.StringArrayP("opt", "o", nil, "Set driver specific options ("+network.HostAccessOption+"=true lets boxes reach the host)")
	fs.Bool("attachable", true, "Enable manual box attachment (always)")
	ipv6 := fs.Bool("ipv6", false, "Enable IPv6 networking (not supported)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "network create", 1); err != nil {
		return err
	}
	if *ipv6 {
		return errors.New("--ipv6: a3s-box networks are IPv4 only")
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	n, err := eng.CreateNetwork(ctx, network.Config{
		Name: fs.Arg(0), Driver: *driver, Subnet: *subnet, Gateway: *gateway, Internal: *internal, Labels: parseLabels(*labels),
		Options: parseLabels(*opts),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, n.ID)
	return nil
}

func parseLabels(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, l := range kvs {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// netRow is one network as ls's templates see it: Docker's field names.
type netRow struct {
	ID        string `json:"ID"`
	Name      string `json:"Name"`
	Driver    string `json:"Driver"`
	Scope     string `json:"Scope"`
	IPv6      string `json:"IPv6"`
	Internal  string `json:"Internal"`
	Labels    string `json:"Labels"`
	CreatedAt string `json:"CreatedAt"`
	rowLabels
}

const netTable = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

var netHeader = netRow{
	ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL",
	Labels: "LABELS", CreatedAt: "CREATED AT", rowLabels: rowLabels{header: true},
}

// listedNetwork is a network as the verbs show it: a record, or the
// none network, which has none.
type listedNetwork = engine.ListedNetwork

func driverOf(n listedNetwork) string {
	if n.None {
		return "null"
	}
	return n.Driver
}

// networks lists the networks as Docker shows them.
func (c *cli) networks(ctx context.Context) (*engine.Engine, []listedNetwork, error) {
	eng, err := c.engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	nets, err := eng.Networks()
	return eng, nets, err
}

func newNetRow(n listedNetwork, noTrunc bool) netRow {
	id := n.ID
	if !noTrunc {
		id = id[:12]
	}
	return netRow{
		ID: id, Name: n.Name, Driver: driverOf(n), Scope: "local", IPv6: "false",
		Internal: fmt.Sprint(n.Internal), Labels: joinLabels(n.Labels), rowLabels: rowLabels{labels: n.Labels},
		CreatedAt: n.Created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST"),
	}
}

func networkLsVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network ls", "network ls [OPTIONS]", "List networks")
	quiet := fs.BoolP("quiet", "q", false, "Only display network IDs")
	noTrunc := fs.Bool("no-trunc", false, "Do not truncate the output")
	filters := fs.StringArrayP("filter", "f", nil, "Provide filter values (e.g. \"driver=bridge\")")
	format := fs.String("format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("'a3s-box network ls' accepts no arguments.\nSee 'a3s-box network ls --help'")
	}
	match, err := netFilter(*filters)
	if err != nil {
		return err
	}
	l, err := newListLister(c.stdout, *format, netTable, "{{.ID}}", netHeader, *quiet)
	if err != nil {
		return err
	}
	_, nets, err := c.networks(ctx)
	if err != nil {
		return err
	}
	var rows []any
	for _, n := range nets {
		if match(n) {
			rows = append(rows, newNetRow(n, *noTrunc))
		}
	}
	return l.print(rows)
}

// netFilter is ls's --filter: the same key ORs, different keys AND.
func netFilter(specs []string) (func(listedNetwork) bool, error) {
	by := map[string][]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", s)
		}
		switch k {
		case "driver", "id", "label", "name", "scope":
		case "type":
			if v != "custom" && v != "builtin" {
				return nil, fmt.Errorf("invalid filter: 'type'='%s': want custom or builtin", v)
			}
		case "dangling":
			if v != "true" && v != "false" && v != "1" && v != "0" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s': want true or false", v)
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		by[k] = append(by[k], v)
	}
	one := func(k, v string, n listedNetwork) bool {
		builtin := n.None || n.Name == network.DefaultName
		switch k {
		case "driver":
			return driverOf(n) == v
		case "id":
			return strings.HasPrefix(n.ID, v)
		case "label":
			return hasLabel(n.Labels, v)
		case "name":
			return strings.Contains(n.Name, v)
		case "scope":
			return v == "local"
		case "type":
			return (v == "builtin") == builtin
		case "dangling":
			return (v == "true" || v == "1") == (!builtin && len(n.Endpoints) == 0)
		}
		return false
	}
	return func(n listedNetwork) bool { return matchFilters(by, n, one) }, nil
}

// netInspect is a network in Docker's inspect shape.
type netInspect struct {
	Name       string                   `json:"Name"`
	ID         string                   `json:"Id"`
	Created    string                   `json:"Created"`
	Scope      string                   `json:"Scope"`
	Driver     string                   `json:"Driver"`
	EnableIPv6 bool                     `json:"EnableIPv6"`
	IPAM       netIPAM                  `json:"IPAM"`
	Internal   bool                     `json:"Internal"`
	Attachable bool                     `json:"Attachable"`
	Ingress    bool                     `json:"Ingress"`
	ConfigFrom struct{ Network string } `json:"ConfigFrom"`
	ConfigOnly bool                     `json:"ConfigOnly"`
	Containers map[string]netEndpoint   `json:"Containers"`
	Options    map[string]string        `json:"Options"`
	Labels     map[string]string        `json:"Labels"`
}

type netIPAM struct {
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
	Config  []netIPAMConfig   `json:"Config"`
}

type netIPAMConfig struct {
	Subnet  string `json:"Subnet"`
	Gateway string `json:"Gateway"`
}

type netEndpoint struct {
	Name        string `json:"Name"`
	EndpointID  string `json:"EndpointID"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
}

func newNetInspect(n listedNetwork, boxName func(id string) string) *netInspect {
	j := &netInspect{
		Name: n.Name, ID: n.ID, Created: dockerTime(n.Created), Scope: "local", Driver: driverOf(n),
		IPAM:       netIPAM{Driver: "default", Config: []netIPAMConfig{}},
		Attachable: !n.None, Containers: map[string]netEndpoint{}, Options: map[string]string{}, Labels: n.Labels,
	}
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	if n.None {
		return j
	}
	j.Internal = n.Internal
	if n.Subnet.IsValid() {
		j.IPAM.Config = append(j.IPAM.Config, netIPAMConfig{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()})
		j.Options["com.docker.network.bridge.name"] = n.Bridge
	}
	if n.HostAccess {
		j.Options[network.HostAccessOption] = "true"
	}
	for _, e := range n.SortedEndpoints() {
		j.Containers[e.BoxID] = netEndpoint{
			Name: boxName(e.BoxID), EndpointID: e.ID, MacAddress: e.MAC, IPv4Address: n.Prefix(e).String(),
		}
	}
	return j
}

func networkInspectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network inspect", "network inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks")
	format := fs.StringP("format", "f", "", "Format output using a custom template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "network inspect", 1); err != nil {
		return err
	}
	eng, nets, err := c.networks(ctx)
	if err != nil {
		return err
	}
	boxName := func(id string) string {
		if b, err := eng.Box(id); err == nil {
			return b.Name
		}
		return ""
	}
	var objs []any
	failed := false
	for _, ref := range fs.Args() {
		n, err := findListed(nets, ref)
		if err != nil {
			c.printError(err)
			failed = true
			continue
		}
		objs = append(objs, newNetInspect(n, boxName))
	}
	show, err := inspectPrinter(c.stdout, *format)
	if err != nil {
		return err
	}
	if err := show(objs); err != nil {
		return err
	}
	if failed {
		return errPrinted
	}
	return nil
}

func findListed(nets []listedNetwork, ref string) (listedNetwork, error) {
	var prefixed []listedNetwork
	for _, n := range nets {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	return listedNetwork{}, fmt.Errorf("network %s not found", ref)
}

func networkRmVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network rm", "network rm NETWORK [NETWORK...]", "Remove one or more networks")
	fs.BoolP("force", "f", false, "Do not error if the network does not exist")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "network rm", 1); err != nil {
		return err
	}
	force, _ := fs.GetBool("force")
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range fs.Args() {
		if ref == network.NoneName {
			fmt.Fprintf(c.stderr, "a3s-box: %s is a pre-defined network and cannot be removed\n", ref)
			failed = true
			continue
		}
		if err := eng.RemoveNetwork(ctx, ref); err != nil {
			if force && errors.Is(err, network.ErrNotFound) {
				continue
			}
			c.printError(err)
			failed = true
			continue
		}
		fmt.Fprintln(c.stdout, ref)
	}
	if failed {
		return errPrinted
	}
	return nil
}

func networkPruneVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network prune", "network prune [OPTIONS]", "Remove all unused networks")
	force := fs.BoolP("force", "f", false, "Do not prompt for confirmation")
	filters := fs.StringArray("filter", nil, "Provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	f, err := parsePruneFilters(*filters)
	if err != nil {
		return err
	}
	if !*force && !c.confirm("WARNING! This will remove all custom networks not used by at least one box.") {
		return nil
	}
	names, err := pruneNetworks(ctx, c, f)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		fmt.Fprintln(c.stdout, "Deleted Networks:")
		for _, n := range names {
			fmt.Fprintln(c.stdout, n)
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}

func networkConnectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network connect", "network connect [OPTIONS] NETWORK BOX", "Connect a box to a network")
	aliases := fs.StringArray("alias", nil, "Add network-scoped alias for the box")
	ip := fs.String("ip", "", "IPv4 address (e.g., 10.89.3.5)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "network connect", 2); err != nil {
		return err
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(1))
	if err != nil {
		return err
	}
	_, err = eng.Connect(ctx, b, network.Attachment{Network: fs.Arg(0), Aliases: *aliases, IP: *ip})
	return err
}

func networkDisconnectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("network disconnect", "network disconnect [OPTIONS] NETWORK BOX", "Disconnect a box from a network")
	force := fs.BoolP("force", "f", false, "Force the box to disconnect from a network")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "network disconnect", 2); err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	id := fs.Arg(1)
	b, err := eng.Box(id)
	switch {
	case err == nil:
		id = b.ID
	case !*force:
		return boxError(fs.Arg(1), err)
	default:
		// -f takes a removed box's endpoint off by its ID.
		if n, nerr := eng.Network(fs.Arg(0)); nerr == nil {
			for bid := range n.Endpoints {
				if strings.HasPrefix(bid, id) {
					id = bid
				}
			}
		}
	}
	return eng.Disconnect(ctx, fs.Arg(0), id, *force)
}
