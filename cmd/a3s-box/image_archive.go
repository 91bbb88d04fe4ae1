package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/image"
)

func init() {
	register(&verb{name: "save", summary: "Save one or more images to a tar archive (streamed to STDOUT by default)", errCode: 1, run: saveVerb})
	register(&verb{name: "load", summary: "Load an image from a tar archive or STDIN", errCode: 1, run: loadVerb})
	register(&verb{name: "import", summary: "Import the contents from a tarball to create a filesystem image", errCode: 1, run: importVerb})
}

func saveVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("save", "save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)")
	output := fs.StringP("output", "o", "", "Write to a file, instead of STDOUT")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "save", 1); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	if *output == "" {
		if isTerminal(c.stdout) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return noSuchImage(s.Save(ctx, c.stdout, fs.Args()), strings.Join(fs.Args(), ", "))
	}
	return writeOutput(*output, "save", func(w io.Writer) error {
		return noSuchImage(s.Save(ctx, w, fs.Args()), strings.Join(fs.Args(), ", "))
	})
}

func loadVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("load", "load [OPTIONS]", "Load an image from a tar archive or STDIN")
	input := fs.StringP("input", "i", "", "Read from tar archive file, instead of STDIN")
	fs.BoolP("quiet", "q", false, "Suppress the load output (a3s-box shows none)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "load", 0); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	var r io.Reader = c.stdin
	if *input != "" {
		f, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer f.Close()
		r = f
	} else if isTerminal(c.stdin) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	loaded, err := s.Load(ctx, r)
	if err != nil {
		return err
	}
	for _, n := range loaded.Names {
		fmt.Fprintf(c.stdout, "Loaded image: %s\n", image.Familiar(n))
	}
	for _, id := range loaded.IDs {
		fmt.Fprintf(c.stdout, "Loaded image ID: %s\n", id)
	}
	return nil
}

func importVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("import", "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image")
	changes := fs.StringArrayP("change", "c", nil, "Apply Dockerfile instruction to the created image")
	message := fs.StringP("message", "m", "", "Set commit message for imported image")
	platform := fs.String("platform", "", "Set platform (a3s-box imports linux/amd64 only)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "import", 1); err != nil {
		return err
	}
	if fs.NArg() > 2 {
		return errors.New("'a3s-box import' requires at most 2 arguments.\nSee 'a3s-box import --help'")
	}
	if *platform != "" && *platform != image.Platform.OS+"/"+image.Platform.Architecture {
		return fmt.Errorf("import: platform %s is not supported: a3s-box imports %s/%s", *platform, image.Platform.OS, image.Platform.Architecture)
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	src := fs.Arg(0)
	r, closeSrc, err := openSource(ctx, c, src)
	if err != nil {
		return err
	}
	defer closeSrc()
	img, err := s.Import(ctx, r, image.ImportOptions{Ref: fs.Arg(1), Changes: *changes, Message: *message, Source: src})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, img.ID)
	return nil
}

// openSource opens import's source: "-" is stdin, http(s):// a download,
// anything else a file.
func openSource(ctx context.Context, c *cli, src string) (io.Reader, func(), error) {
	switch {
	case src == "-":
		return c.stdin, func() {}, nil
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("import %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("import %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("import %s: the server answered %s", src, resp.Status)
		}
		return resp.Body, func() { resp.Body.Close() }, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	return f, func() { f.Close() }, nil
}
