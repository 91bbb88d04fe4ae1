package benchrig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CLI runs the built a3s-box binary on one state root, under TCG: the
// benches compare like with like on machines with and without KVM.
type CLI struct {
	Bin  string // the a3s-box binary
	Root string // its A3S_BOX_ROOT
	// LastCPU is the user plus system CPU time of the last command that
	// succeeded: the CLI's own share of what it timed.
	LastCPU time.Duration
}

// At is the same binary on another state root.
func (c *CLI) At(root string) *CLI { return &CLI{Bin: c.Bin, Root: root} }

// Command is an a3s-box command on the CLI's root, for a caller that
// reads its output as it comes.
func (c *CLI) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Env = append(os.Environ(), "A3S_BOX_ROOT="+c.Root, "A3S_BOX_ACCEL=tcg")
	return cmd
}

// Run runs an a3s-box command to its end and returns its standard output,
// trimmed. A failure carries the command line and its standard error.
func (c *CLI) Run(ctx context.Context, args ...string) (string, error) {
	cmd := c.Command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("a3s-box %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	c.LastCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return strings.TrimSpace(out.String()), nil
}

// PIDs are a running box's host processes.
type PIDs struct {
	VMM        int `json:"vmmPid"`
	Supervisor int `json:"supervisorPid"`
}

// PIDs reads a box's processes from its state record. (The record is read
// here rather than through the runtime package, so that netbench, which
// goes into its own test image, stays a small static binary.)
func (c *CLI) PIDs(id string) (PIDs, error) {
	var p PIDs
	b, err := os.ReadFile(filepath.Join(c.Root, "boxes", id, "state.json"))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("box %s state: %w", id, err)
	}
	return p, nil
}
