// Command testregistry serves a3s-box's busybox test image as
// test/busybox:1 and test/busybox:latest from an in-memory registry on
// loopback, for the demo and the benchmarks. It prints host:port as its
// first line on stdout and serves until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	listen := flag.String("addr", "127.0.0.1:0", "listen address (host:port)")
	flag.Parse()
	img, err := imagetest.Busybox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testregistry:", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	addr, stop, err := imagetest.ServeAt(*listen, map[string]v1.Image{"test/busybox:1": img, "test/busybox:latest": img})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testregistry:", err)
		os.Exit(1)
	}
	fmt.Println(addr)
	<-sigs
	stop()
}
