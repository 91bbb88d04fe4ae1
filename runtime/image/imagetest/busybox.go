package imagetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BusyboxPath is Debian's busybox-static, the test image's only binary.
var BusyboxPath = "/bin/busybox"

// Greeting is the first line /usr/local/bin/hello prints.
const Greeting = "Hello from a3s-box: a microVM with its own kernel"

// DefaultPath is the image's PATH, Docker's default.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Busybox is the project's test image: one layer with busybox and a
// symlink in /bin for each of its applets, users root and app
// (1000:1000), /tmp, the home directories, /bin/notexec (a file without
// execute permission) and the demo's /usr/local/bin/hello. CMD is sh.
func Busybox() (v1.Image, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox test image: %w", err)
	}
	list, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox test image: %s --list: %w", BusyboxPath, err)
	}
	entries := []Entry{
		Dir("bin", 0o755),
		File("bin/busybox", 0o755, string(bin)),
		File("bin/notexec", 0o644, "#!/bin/sh\necho this must not run\n"),
		Dir("etc", 0o755),
		File("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"),
		File("etc/group", 0o644, "root:x:0:\napp:x:1000:\n"),
		Dir("home", 0o755),
		Dir("home/app", 0o755).Owned(1000, 1000),
		Dir("root", 0o700),
		Dir("tmp", 0o1777),
		Dir("usr", 0o755),
		Dir("usr/local", 0o755),
		Dir("usr/local/bin", 0o755),
		File("usr/local/bin/hello", 0o755, "#!/bin/sh\necho \""+Greeting+"\"\nuname -r\n"),
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		entries = append(entries, Symlink("bin/"+applet, "busybox"))
	}
	layer, err := Layer(entries)
	if err != nil {
		return nil, fmt.Errorf("busybox test image: %w", err)
	}
	return Image(v1.Config{Env: []string{"PATH=" + DefaultPath}, Cmd: []string{"sh"}}, layer)
}
