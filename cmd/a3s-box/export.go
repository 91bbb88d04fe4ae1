package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func init() {
	register(&verb{name: "export", summary: "Export a box's filesystem as a tar archive", errCode: 1, run: exportVerb})
}

func exportVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("export", "export [OPTIONS] BOX", "Export a box's filesystem as a tar archive")
	output := fs.StringP("output", "o", "", "Write to a file, instead of STDOUT")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "export", 1); err != nil {
		return err
	}
	if *output == "" && isTerminal(c.stdout) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	eng, b, err := c.oneBox(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *output == "" {
		return eng.Export(ctx, b, c.stdout)
	}
	return writeOutput(*output, "export", func(w io.Writer) error { return eng.Export(ctx, b, w) })
}

// writeOutput writes a verb's archive to path (-o): it appears under its
// name only once complete.
func writeOutput(path, verb string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	defer os.Remove(f.Name())
	err = write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", verb, cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
