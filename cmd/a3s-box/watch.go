package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/coreos/go-systemd/v22/daemon"
)

func init() {
	register(&verb{name: "watch", summary: "Keep the machine matching the stacks in directories (GitOps)", errCode: 1, run: watchVerb})
}

func watchVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("watch", "watch [OPTIONS] DIR...", "Keep the machine matching the stacks in directories: every *.yaml and *.yml below them is a stack file (or compose file)")
	resync := fs.Duration("resync", 30*time.Second, "How often to reconcile everything, repairing drift")
	metricsAddr := fs.String("metrics-addr", "", "Serve Prometheus metrics on /metrics and a health check on /healthz at this host:port (none by default)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("'a3s-box watch' requires at least 1 directory.\nSee 'a3s-box watch --help'.")
	}
	e, err := c.engine(ctx)
	if err != nil {
		return err
	}
	// SIGTERM and SIGINT stop watching and leave the boxes running; SIGHUP
	// reads everything again.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	err = e.Watch(ctx, engine.WatchOptions{
		Dirs: fs.Args(), Resync: *resync, Log: c.stdout, Reload: reload, MetricsAddr: *metricsAddr,
		Ready: func() { _, _ = daemon.SdNotify(false, daemon.SdNotifyReady) },
	})
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	return err
}
