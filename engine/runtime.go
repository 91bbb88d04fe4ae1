package engine

import (
	"context"
	"errors"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
)

// reconcileRuntime is the machine's runtime as reconcile drives it.
type reconcileRuntime struct {
	rt *runtime.Runtime
}

// ReconcileRuntime is rt as the reconciler drives it.
func ReconcileRuntime(rt *runtime.Runtime) reconcile.Runtime {
	return reconcileRuntime{rt: rt}
}

// notFound is a runtime error that reconcile reads as its ErrNotFound.
// Its text stays the runtime's, which users see, and the runtime's own
// error stays in the chain for callers that test for it.
type notFound struct{ err error }

func (e notFound) Error() string   { return e.err.Error() }
func (e notFound) Unwrap() []error { return []error{e.err, reconcile.ErrNotFound} }

// missing marks err as reconcile's ErrNotFound when it is the runtime's
// own for the thing asked about (errNotFound): a box start that fails on
// a missing volume is no missing box.
func missing(err, errNotFound error) error {
	if errors.Is(err, errNotFound) {
		return notFound{err}
	}
	return err
}

func noBox(err error) error     { return missing(err, runtime.ErrNoSuchBox) }
func noNetwork(err error) error { return missing(err, network.ErrNotFound) }
func noVolume(err error) error  { return missing(err, volume.ErrNotFound) }

func boxView(b *runtime.Box) *reconcile.Box {
	v := &reconcile.Box{
		ID: b.ID, Name: b.Name, Labels: b.Spec.Labels, Restart: b.Spec.Restart,
		Status: b.State.Status, ExitCode: b.State.ExitCode, FinishedAt: b.State.FinishedAt,
		ManualStop: b.State.ManualStop, HasHealthCheck: b.Health != nil,
	}
	if b.State.Health != nil {
		v.Health = b.State.Health.Status
	}
	return v
}

func (r reconcileRuntime) Boxes() ([]*reconcile.Box, error) {
	boxes, err := r.rt.Boxes()
	if err != nil {
		return nil, err
	}
	out := make([]*reconcile.Box, len(boxes))
	for i, b := range boxes {
		out[i] = boxView(b)
	}
	return out, nil
}

func (r reconcileRuntime) Lookup(ref string) (*reconcile.Box, error) {
	b, err := r.rt.Lookup(ref)
	if err != nil {
		return nil, noBox(err)
	}
	return boxView(b), nil
}

func (r reconcileRuntime) Create(ctx context.Context, b *spec.Box) (*reconcile.Box, error) {
	img, err := r.rt.ResolveImage(ctx, b.Image, nil)
	if err != nil {
		return nil, err
	}
	box, err := r.rt.Create(ctx, b, img)
	if err != nil {
		return nil, err
	}
	return boxView(box), nil
}

func (r reconcileRuntime) Start(ctx context.Context, id string) error {
	return noBox(r.rt.Start(ctx, id, false))
}

func (r reconcileRuntime) Stop(ctx context.Context, id string, timeout int) error {
	if timeout < 0 {
		b, err := r.rt.Lookup(id)
		if err != nil {
			return noBox(err)
		}
		timeout = runtime.StopTimeout(b)
	}
	return noBox(r.rt.Stop(ctx, id, 0, timeout))
}

func (r reconcileRuntime) Remove(ctx context.Context, id string, volumes bool) error {
	if volumes {
		return noBox(r.rt.RemoveWithVolumes(ctx, id, true))
	}
	return noBox(r.rt.Remove(ctx, id, true))
}

func (r reconcileRuntime) Repair(ctx context.Context) error { return r.rt.Repair(ctx) }

func networkView(n *network.Network) *reconcile.Network {
	return &reconcile.Network{ID: n.ID, Name: n.Name, Labels: n.Labels, Internal: n.Internal, Subnet: n.Subnet.String()}
}

func (r reconcileRuntime) Network(ref string) (*reconcile.Network, error) {
	n, err := r.rt.Networks.Get(ref)
	if err != nil {
		return nil, noNetwork(err)
	}
	return networkView(n), nil
}

func (r reconcileRuntime) Networks() ([]*reconcile.Network, error) {
	nets, err := r.rt.Networks.List()
	if err != nil {
		return nil, err
	}
	out := make([]*reconcile.Network, len(nets))
	for i, n := range nets {
		out[i] = networkView(n)
	}
	return out, nil
}

func (r reconcileRuntime) CreateNetwork(ctx context.Context, c reconcile.NetworkConfig) error {
	_, err := r.rt.Networks.Create(ctx, network.Config{
		Name: c.Name, Driver: c.Driver, Subnet: c.Subnet, Gateway: c.Gateway, Internal: c.Internal, Labels: c.Labels,
	})
	return err
}

func (r reconcileRuntime) RemoveNetwork(ctx context.Context, ref string) error {
	_, err := r.rt.Networks.Remove(ctx, ref)
	return noNetwork(err)
}

func (r reconcileRuntime) Volume(name string) (*reconcile.Volume, error) {
	v, err := r.rt.Volumes.Get(name)
	if err != nil {
		return nil, noVolume(err)
	}
	return &reconcile.Volume{Name: v.Name, Labels: v.Labels}, nil
}

func (r reconcileRuntime) Volumes() ([]*reconcile.Volume, error) {
	vols, err := r.rt.Volumes.List()
	if err != nil {
		return nil, err
	}
	out := make([]*reconcile.Volume, len(vols))
	for i, v := range vols {
		out[i] = &reconcile.Volume{Name: v.Name, Labels: v.Labels}
	}
	return out, nil
}

func (r reconcileRuntime) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	_, err := r.rt.CreateVolume(ctx, name, volume.Options{Labels: labels})
	return err
}

func (r reconcileRuntime) RemoveVolume(ctx context.Context, name string) error {
	return noVolume(r.rt.RemoveVolume(ctx, name))
}
