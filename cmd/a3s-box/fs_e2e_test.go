package main

// End-to-end tests of the verbs inside a box's file system: cp both ways
// (trees with modes, owners, links; tar streams; refused escapes), diff,
// commit and export, on a running box and on a stopped one (a maintenance
// boot). One box carries most assertions, to keep boots few.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// treeOf describes every file below dir: type, mode, owner, size and
// content or link target, and which names share an inode.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %s %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q mtime=%d", b, fi.ModTime().Unix())
			if first, ok := inodes[st.Ino]; ok && st.Nlink > 1 {
				line += " same-as=" + first
			}
			inodes[st.Ino] = rel
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostTree makes a directory tree with the kinds of things cp must keep.
func hostTree(t *testing.T, dir string) {
	t.Helper()
	old := time.Unix(1600000000, 0)
	for _, step := range []error{
		os.MkdirAll(filepath.Join(dir, "sub/deep"), 0o755),
		os.MkdirAll(filepath.Join(dir, "empty"), 0o700),
		os.WriteFile(filepath.Join(dir, "file"), []byte("hello\n"), 0o640),
		os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755),
		os.WriteFile(filepath.Join(dir, "sub/deep/owned"), []byte("app's\n"), 0o600),
		os.Link(filepath.Join(dir, "file"), filepath.Join(dir, "sub/hard")),
		os.Symlink("../file", filepath.Join(dir, "sub/rel")),
		os.Symlink("/etc/passwd", filepath.Join(dir, "abs")),
		os.Chmod(filepath.Join(dir, "empty"), 0o700),
		os.Lchown(filepath.Join(dir, "sub/deep"), 1000, 1000),
		os.Lchown(filepath.Join(dir, "sub/deep/owned"), 1000, 1000),
		os.Chtimes(filepath.Join(dir, "file"), old, old),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
}

// hostile is a tar whose second entry tries to leave the directory it is
// extracted into.
func hostile(t *testing.T, how string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "planted"}, "first entry, must not stay\n")
	switch how {
	case "dotdot":
		add(&tar.Header{Name: "../../../../etc/evil"}, "x")
	case "absolute":
		add(&tar.Header{Name: "/etc/evil"}, "x")
	case "symlink":
		add(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, "")
		add(&tar.Header{Name: "l/evil"}, "x")
	case "hardlink":
		add(&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "etc/passwd"}, "")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarListing(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		names = append(names, h.Name)
	}
}

func TestBoxFiles(t *testing.T) {
	needE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("cp -a needs root on the host to give files their owners")
	}
	const box = "fs-box"
	runDetached(t, box, e2e.image, "sleep", "100000")
	host := t.TempDir()

	// diff lists exactly what the box changed, in Docker's order, with
	// the directories of additions and deletions as C.
	ok(t, e2e.root, "exec", box, "sh", "-c",
		"echo new > /tmp/new && rm /bin/notexec && echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd && "+
			"mkdir -p /opt/a/b && echo f > /opt/a/b/f && rm -rf /usr/local && mkdir /home/app/x")
	want := strings.Join([]string{
		"C /bin", "D /bin/notexec",
		"C /etc/passwd",
		"C /home/app", "A /home/app/x",
		"A /opt", "A /opt/a", "A /opt/a/b", "A /opt/a/b/f",
		"C /tmp", "A /tmp/new",
		"C /usr", "D /usr/local",
	}, "\n") + "\n"
	if got := ok(t, e2e.root, "diff", box); got != want {
		t.Fatalf("diff:\n%s\nwant\n%s", got, want)
	}

	t.Run("cp round trip", func(t *testing.T) {
		src := filepath.Join(host, "src/tree")
		hostTree(t, src)
		ok(t, e2e.root, "exec", box, "mkdir", "/srv")
		ok(t, e2e.root, "cp", "-a", src, box+":/srv")
		out := filepath.Join(host, "back")
		ok(t, e2e.root, "cp", "-a", box+":/srv/tree", out)
		if got, want := treeOf(t, out), treeOf(t, src); got != want {
			t.Fatalf("tree after host -> box -> host:\n%s\nwant\n%s", got, want)
		}
		// Without -a the box's copy belongs to root, the host's to the caller.
		ok(t, e2e.root, "cp", src, box+":/srv/plain")
		if got := ok(t, e2e.root, "exec", box, "stat", "-c", "%u:%g %a", "/srv/plain/sub/deep/owned"); got != "0:0 600\n" {
			t.Fatalf("cp without -a: owner and mode in the box %q", got)
		}
		ok(t, e2e.root, "cp", box+":/srv/tree/sub/deep/.", filepath.Join(host, "contents"))
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(host, "contents/owned"), &st); err != nil || st.Uid != 0 {
			t.Fatalf("cp SRC/. without -a: %v, owner %d", err, st.Uid)
		}
		// A file into a directory, and onto a new name.
		ok(t, e2e.root, "cp", box+":/etc/passwd", host)
		ok(t, e2e.root, "cp", box+":/etc/passwd", filepath.Join(host, "renamed"))
		for _, p := range []string{"passwd", "renamed"} {
			if b, err := os.ReadFile(filepath.Join(host, p)); err != nil || !strings.Contains(string(b), "x:x:5:5") {
				t.Fatalf("%s: %q %v", p, b, err)
			}
		}
		// On a terminal cp shows its progress and what it copied, as
		// Docker's does; elsewhere it prints nothing.
		if r := a3s(t, "cp", filepath.Join(host, "renamed"), box+":/tmp/quiet"); r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("cp off a terminal: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		p := startPTY(t, 24, 80, "cp", src, box+":/srv/on-a-terminal")
		p.expect(p.expect(0, "Preparing to copy..."), "Successfully copied ")
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("cp on a terminal: %v", err)
		}
		if !regexp.MustCompile(`Successfully copied [0-9.]+kB to ` + regexp.QuoteMeta(box+":/srv/on-a-terminal")).MatchString(p.output()) {
			t.Errorf("cp on a terminal printed:\n%q", p.output())
		}
		// The tars crossed the box's spool, and none was left in it.
		spool := filepath.Join(e2e.root, "run", field(t, box, "{{.Id}}")[:12], "share", ".spool")
		if entries, err := os.ReadDir(spool); err != nil || len(entries) != 0 {
			t.Fatalf("spool %s: %v, %d files left", spool, err, len(entries))
		}
	})

	t.Run("cp with tar streams", func(t *testing.T) {
		out := a3s(t, "cp", box+":/srv/tree/sub", "-")
		if out.code != 0 {
			t.Fatalf("cp to stdout: %d %s", out.code, out.stderr)
		}
		names := strings.Join(tarListing(t, []byte(out.stdout)), " ")
		if names != "sub/ sub/deep/ sub/deep/owned sub/hard sub/rel" {
			t.Fatalf("tar on stdout holds %s", names)
		}
		ok(t, e2e.root, "exec", box, "mkdir", "/piped")
		in := call{root: e2e.root, stdin: strings.NewReader(out.stdout)}.run(t, "cp", "-", box+":/piped")
		if in.code != 0 {
			t.Fatalf("cp from stdin: %d %s", in.code, in.stderr)
		}
		got := ok(t, e2e.root, "exec", box, "sh", "-c", "cat /piped/sub/deep/owned; readlink /piped/sub/rel; stat -c %u /piped/sub/deep")
		if got != "app's\n../file\n0\n" {
			t.Fatalf("box after cp -: %q", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		ok(t, e2e.root, "exec", box, "sh", "-c", "ln -s ../../../../../../etc /tmp/esc && ln -s ../../../../etc/passwd /tmp/esc2 && mkdir /dst")
		defer ok(t, e2e.root, "exec", box, "rm", "-rf", "/tmp/esc", "/tmp/esc2", "/dst")
		dest := filepath.Join(host, "refused")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		before := ok(t, e2e.root, "diff", box)
		cases := []struct {
			name  string
			stdin []byte
			args  []string
			want  string
		}{
			{"symlink out of the box", nil, []string{"cp", box + ":/tmp/esc/passwd", dest}, "leads out of the box's root"},
			{"followed symlink out of the box", nil, []string{"cp", "-L", box + ":/tmp/esc2", dest}, "leads out of the box's root"},
			{"missing file in the box", nil, []string{"cp", box + ":/nope", dest}, "Could not find the file /nope in box " + box},
			{"missing directory in the box", nil, []string{"cp", filepath.Join(host, "passwd"), box + ":/nope/x"}, "Could not find the file /nope/x in box " + box},
			{"missing host directory", nil, []string{"cp", box + ":/etc/passwd", filepath.Join(dest, "nope/x")}, "does not exist"},
			{"missing host file", nil, []string{"cp", filepath.Join(dest, "nope"), box + ":/tmp"}, "no such file or directory"},
			{"no such box", nil, []string{"cp", filepath.Join(host, "passwd"), "no-such-box:/tmp"}, "No such box: no-such-box"},
			{"tar with ..", hostile(t, "dotdot"), []string{"cp", "-", box + ":/dst"}, "escapes the destination"},
			{"tar with an absolute name", hostile(t, "absolute"), []string{"cp", "-", box + ":/dst"}, "escapes the destination"},
			{"tar through its own symlink", hostile(t, "symlink"), []string{"cp", "-", box + ":/dst"}, "symbolic link"},
			{"tar linking a box file", hostile(t, "hardlink"), []string{"cp", "-", box + ":/dst"}, "does not hold"},
			{"tar into a file", hostile(t, "dotdot"), []string{"cp", "-", box + ":/etc/passwd"}, "must be a directory"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				k := call{root: e2e.root}
				if c.stdin != nil {
					k.stdin = bytes.NewReader(c.stdin)
				}
				failsWith(t, k.run(t, c.args...), 1, c.want)
			})
		}
		if got := ok(t, e2e.root, "diff", box); got != before {
			t.Fatalf("refused copies changed the box:\n%s\nwas\n%s", got, before)
		}
		if entries, _ := os.ReadDir(dest); len(entries) != 0 {
			t.Fatalf("refused copies wrote %v on the host", entries)
		}
	})

	t.Run("commit", func(t *testing.T) {
		const ref = "fs-e2e/committed:1"
		t.Cleanup(func() { a3s(t, "rmi", "-f", ref) })
		images := ok(t, e2e.root, "images", "-q")
		failsWith(t, a3s(t, "commit", "-c", "RUN make", box, ref), 1, "RUN is not a supported instruction")
		if got := ok(t, e2e.root, "images", "-q"); got != images {
			t.Fatalf("a refused commit changed the images:\n%s", got)
		}
		id := strings.TrimSpace(ok(t, e2e.root, "commit", "-a", "tester", "-m", "from fs-box",
			"-c", `CMD ["sh", "-c", "cat /tmp/new /opt/a/b/f; echo $FOO; test -e /bin/notexec || echo gone; ls /usr; /srv/tree/run.sh"]`,
			"-c", "ENV FOO=bar", box, ref))
		if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
			t.Fatalf("commit printed %q", id)
		}
		r := a3s(t, "run", "--rm", ref)
		if r.code != 0 || r.stdout != "new\nf\nbar\ngone\nran\n" {
			t.Fatalf("run of the committed image: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		if got := ok(t, e2e.root, "image", "inspect", "-f", "{{.Author}}|{{.Comment}}|{{.Config.Env}}", ref); got != "tester|from fs-box|[FOO=bar PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]\n" {
			t.Fatalf("committed config %q", got)
		}
		// The committed image is an image like any other: it pushes, and
		// pulls back as the same image.
		registry, _, _ := strings.Cut(e2e.image, "/")
		pushed := registry + "/fs-e2e/committed:1"
		t.Cleanup(func() { a3s(t, "rmi", "-f", pushed) })
		ok(t, e2e.root, "tag", ref, pushed)
		ok(t, e2e.root, "push", pushed)
		ok(t, e2e.root, "rmi", pushed)
		ok(t, e2e.root, "pull", "-q", pushed)
		if got, want := ok(t, e2e.root, "image", "inspect", "-f", "{{.Id}}", pushed), id+"\n"; got != want {
			t.Fatalf("the pushed commit pulled back as %q, want %q", got, want)
		}
	})

	// A stopped box: cp in, diff, and export | import, each through a
	// maintenance boot.
	ok(t, e2e.root, "stop", "-t", "0", box)
	if err := os.WriteFile(filepath.Join(host, "late"), []byte("while stopped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, e2e.root, "cp", filepath.Join(host, "late"), box+":/tmp/late")
	if got := ok(t, e2e.root, "diff", box); !strings.Contains(got, "A /tmp/late\n") || !strings.Contains(got, "D /bin/notexec\n") {
		t.Fatalf("diff of the stopped box:\n%s", got)
	}
	if got := field(t, box, "{{.State.Status}}"); got != "exited" {
		t.Fatalf("after file operations the box is %q, want exited", got)
	}
	exported := filepath.Join(host, "box.tar")
	ok(t, e2e.root, "export", "-o", exported, box)
	const imported = "fs-e2e/exported:1"
	t.Cleanup(func() { a3s(t, "rmi", "-f", imported) })
	f, err := os.Open(exported)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r := (call{root: e2e.root, stdin: f}).run(t, "import", "-", imported); r.code != 0 {
		t.Fatalf("import of the export: %d %s", r.code, r.stderr)
	}
	check := "cat /tmp/late /tmp/new; test -e /bin/notexec || echo gone; stat -c '%u %a' /srv/tree/sub/deep/owned; readlink /srv/tree/sub/rel"
	r := a3s(t, "run", "--rm", imported, "sh", "-c", check)
	if r.code != 0 || r.stdout != "while stopped\nnew\ngone\n1000 600\n../file\n" {
		t.Fatalf("box of the imported export: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	names := tarListing(t, mustRead(t, exported))
	for _, n := range []string{"bin/busybox", "etc/passwd", "srv/tree/sub/hard", "tmp/late"} {
		if !slices.Contains(names, n) {
			t.Fatalf("export lacks %s", n)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "proc/") && n != "proc/" {
			t.Fatalf("export holds the guest's %s", n)
		}
	}
	// A tar is not for a terminal.
	p := startPTY(t, 24, 80, "export", box)
	p.expect(0, "cowardly refusing to save to a terminal")
	if err := p.cmd.Wait(); p.cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("export to a terminal: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
