package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/a3s-box/a3s-box/spec"
)

// A stack's networks, as compose has them: the keys under networks: and
// the implicit "default" name machine networks <stack>_<key> (or the name
// a declaration gives), made by apply and labelled as the stack's, and
// removed with the stack; external ones must exist already and are left
// alone. Every box of a stack answers on its networks to its name within
// the stack as well (compose's service name), so boxes find each other
// by the names the stack file uses.

// LabelNetwork names the stack key a network was made for.
const LabelNetwork = "com.docker.compose.network"

// networkKeys are the stack keys of the networks box name joins.
func networkKeys(b spec.Box) []spec.NetworkAttachment {
	if len(b.Networks) == 0 {
		return []spec.NetworkAttachment{{Name: spec.DefaultNetwork}}
	}
	return b.Networks
}

// stackAttachments are box name's networks under their machine names,
// with the box's name in the stack among its aliases.
func stackAttachments(s *spec.Stack, name string) []spec.NetworkAttachment {
	keys := networkKeys(s.Boxes[name])
	out := make([]spec.NetworkAttachment, len(keys))
	for i, k := range keys {
		a := k
		a.Name = s.NetworkName(k.Name)
		a.Aliases = append([]string{name}, slices.DeleteFunc(slices.Clone(k.Aliases), func(x string) bool { return x == name })...)
		out[i] = a
	}
	return out
}

// machineBox is a stack's box as the runtime makes it: its volumes and networks under
// their machine names. The implicit stack's boxes name machine networks
// already.
func machineBox(s *spec.Stack, stackName, name string) spec.Box {
	b := stackBox(s, name)
	if stackName != ImplicitStack {
		b.Networks = stackAttachments(s, name)
	}
	return b
}

// EnsureNetworks makes the networks the boxes of s join, as the stack
// declares them; an external one must exist.
func EnsureNetworks(ctx context.Context, rt Runtime, s *spec.Stack) error {
	if s.Name == ImplicitStack {
		return nil
	}
	seen := map[string]bool{}
	for _, name := range s.BoxNames() {
		for _, k := range networkKeys(s.Boxes[name]) {
			if seen[k.Name] {
				continue
			}
			seen[k.Name] = true
			if err := ensureNetwork(ctx, rt, s, k.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func ensureNetwork(ctx context.Context, rt Runtime, s *spec.Stack, key string) error {
	decl := s.Networks[key]
	name := s.NetworkName(key)
	n, err := rt.Network(name)
	switch {
	case err == nil && decl.External:
		return nil
	case err == nil:
		if n.Labels[LabelStack] != s.Name {
			return fmt.Errorf("network %s exists and is not stack %s's: declare it external: true to use it", name, s.Name)
		}
		if n.Internal != decl.Internal || (decl.Subnet != "" && n.Subnet != decl.Subnet) {
			return fmt.Errorf("network %s exists with other settings (internal %v, subnet %s): delete the stack to make it anew", name, n.Internal, n.Subnet)
		}
		return nil
	case !errors.Is(err, ErrNotFound):
		return err
	case decl.External:
		return fmt.Errorf("network %s is declared as external, but could not be found: create it with `a3s-box network create %s`", name, name)
	}
	labels := map[string]string{}
	for k, v := range decl.Labels {
		labels[k] = v
	}
	labels[LabelStack], labels[LabelProject], labels[LabelNetwork] = s.Name, s.Name, key
	return rt.CreateNetwork(ctx, NetworkConfig{
		Name: name, Driver: decl.Driver, Subnet: decl.Subnet, Gateway: decl.Gateway, Internal: decl.Internal, Labels: labels,
	})
}

// RemoveNetworks removes the networks apply made for stack name; external
// ones were never labelled as its, and stay.
func RemoveNetworks(ctx context.Context, rt Runtime, name string) error {
	if name == ImplicitStack {
		return nil
	}
	nets, err := rt.Networks()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range nets {
		if n.Labels[LabelStack] != name {
			continue
		}
		if err := rt.RemoveNetwork(ctx, n.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
