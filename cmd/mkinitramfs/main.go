// Command mkinitramfs writes the initramfs a3s-box guests boot from:
// guestinit as /init plus the kernel modules it loads. The build runs it
// (`make build`); users who bring their own kernel run it against that
// kernel's modules directory.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/initramfs"
)

func main() {
	fs := flag.NewFlagSet("mkinitramfs", flag.ContinueOnError)
	modulesDir := fs.String("modules-dir", "", "the kernel's lib/modules/<release> directory, with modules.dep (run depmod first)")
	release := fs.String("release", "", "kernel release (default: the base name of --modules-dir)")
	init := fs.String("init", "", "the guestinit binary, installed as /init")
	out := fs.String("out", "", "where to write the initramfs (replaced atomically)")
	modules := fs.String("modules", strings.Join(initramfs.DefaultModules, ","), "comma-separated modules to include, with their dependencies")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *modulesDir == "" || *init == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mkinitramfs --modules-dir DIR --init FILE --out FILE [--release R] [--modules a,b,...]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := initramfs.Options{ModulesDir: *modulesDir, Release: *release, Init: *init, Modules: splitList(*modules)}
	if err := run(ctx, opts, *out); err != nil {
		fmt.Fprintf(os.Stderr, "mkinitramfs: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts initramfs.Options, out string) error {
	var buf bytes.Buffer
	if err := initramfs.Build(ctx, opts, &buf); err != nil {
		return err
	}
	return statefile.WriteFile(out, buf.Bytes(), 0o644)
}

// splitList turns "a, b,,c" into [a b c]; an empty list is an empty,
// non-nil slice, so --modules= means no modules at all.
func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
