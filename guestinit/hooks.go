package main

import (
	"io"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// Hooks for a guestinit built as a hostile guest (hostile.go, built
// with -tags hostileguest), which the end-to-end tests boot to attack
// the host from inside a box the way a guest root who replaced
// guestinit could. An ordinary build leaves them nil.
var (
	// channelHook wraps the channel to the host before the session
	// starts on it.
	channelHook func(io.ReadWriteCloser) io.ReadWriteCloser
	// execHook may take over an Exec: it returns the process's exit,
	// or nil to run the process as usual. w writes on its stream.
	execHook func(ex *proto.Exec, w *proto.Writer) *proto.Exit
)
