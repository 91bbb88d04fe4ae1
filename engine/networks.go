package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
)

// ListedNetwork is a network as the network verbs show it: a record, or
// the none network, which has none.
type ListedNetwork struct {
	*network.Network
	None bool
}

// Networks lists the networks, by name, with none, and with the default network,
// as Docker always shows them: before its first use the default network
// has no record (nor subnet, nor bridge) yet.
func (e *Engine) Networks() ([]ListedNetwork, error) {
	nets, err := e.rt.Networks.List()
	if err != nil {
		return nil, err
	}
	root := e.rt.Networks.Root()
	out := []ListedNetwork{{Network: &network.Network{ID: network.NoneID(root), Name: network.NoneName}, None: true}}
	hasDefault := false
	for _, n := range nets {
		out = append(out, ListedNetwork{Network: n})
		hasDefault = hasDefault || n.Name == network.DefaultName
	}
	if !hasDefault {
		out = append(out, ListedNetwork{Network: &network.Network{ID: network.DefaultID(root), Name: network.DefaultName, Driver: network.Driver}})
	}
	slices.SortFunc(out, func(a, b ListedNetwork) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Network finds a network record by name, ID or ID prefix.
func (e *Engine) Network(ref string) (*network.Network, error) { return e.rt.Networks.Get(ref) }

// CreateNetwork makes a network, after repairing what a crashed command
// may have left half made.
func (e *Engine) CreateNetwork(ctx context.Context, c network.Config) (*network.Network, error) {
	if err := e.rt.Networks.Repair(ctx); err != nil {
		return nil, err
	}
	return e.rt.Networks.Create(ctx, c)
}

// RemoveNetwork removes a network no box uses, after repairing what a
// crashed command may have left half made.
func (e *Engine) RemoveNetwork(ctx context.Context, ref string) error {
	if err := e.rt.Networks.Repair(ctx); err != nil {
		return err
	}
	_, err := e.rt.Networks.Remove(ctx, ref)
	return err
}

// PruneNetworks removes the networks no box uses that keep does not
// keep, and names them.
func (e *Engine) PruneNetworks(ctx context.Context, keep func(*network.Network) bool) ([]string, error) {
	if err := e.rt.Networks.Repair(ctx); err != nil {
		return nil, err
	}
	return e.rt.Networks.Prune(ctx, keep)
}

// Memberships are a box's places on its networks.
func (e *Engine) Memberships(b *runtime.Box) ([]network.Membership, error) {
	if e.rt.Networks == nil {
		return nil, nil // a runtime made in code without networks
	}
	return e.rt.Networks.Memberships(b.ID)
}

// NetworkIndex is every box's memberships, by box ID.
func (e *Engine) NetworkIndex() (map[string][]network.Membership, error) {
	return e.rt.Networks.Index()
}

// Connect joins a box to a network.
func (e *Engine) Connect(ctx context.Context, b *runtime.Box, att network.Attachment) (network.Membership, error) {
	return e.rt.Connect(ctx, b, att)
}

// Disconnect takes box boxID off a network; force takes a removed box's
// endpoint off too.
func (e *Engine) Disconnect(ctx context.Context, netRef, boxID string, force bool) error {
	return e.rt.Disconnect(ctx, netRef, boxID, force)
}

// HostObjects lists the bridges, taps and firewall chains a3s-box has on
// the host for this root: `system df -v`.
func (e *Engine) HostObjects() ([]network.HostObject, error) {
	boxes, err := e.rt.Boxes()
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(boxes))
	for _, b := range boxes {
		ids = append(ids, b.ID)
	}
	return e.rt.Networks.HostObjects(ids)
}
