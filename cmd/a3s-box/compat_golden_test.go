package main

import (
	"bytes"
	"testing"
)

func TestGoldenContainerHelp(t *testing.T) {
	var out bytes.Buffer
	containerUsage(&out)
	golden(t, "container-help.golden", out.Bytes())
}
