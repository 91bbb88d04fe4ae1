package vmm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// QMPCommand runs one QMP command without arguments on the VMM's monitor
// socket: stop freezes every vCPU of the VM, cont resumes them.
func QMPCommand(ctx context.Context, socket, command string) error {
	_, err := QMPExecute(ctx, socket, command, nil)
	return err
}

// QMPExecute runs one QMP command with its arguments (nil for none) and
// returns its reply. A connection per command keeps the VMM's monitor
// free between uses.
func QMPExecute(ctx context.Context, socket, command string, args any) (json.RawMessage, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	rd := bufio.NewReader(conn)
	// The greeting, then capabilities negotiation, then the command.
	if _, err := qmpRead(rd); err != nil {
		return nil, fmt.Errorf("qmp %s: greeting: %w", command, err)
	}
	type request struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
	}
	var ret json.RawMessage
	for _, req := range []request{{Execute: "qmp_capabilities"}, {Execute: command, Arguments: args}} {
		if err := json.NewEncoder(conn).Encode(req); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", req.Execute, err)
		}
		if ret, err = qmpRead(rd); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", req.Execute, err)
		}
	}
	return ret, nil
}

// qmpRead returns the next reply that is not an asynchronous event.
func qmpRead(rd *bufio.Reader) (json.RawMessage, error) {
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var m struct {
			Event  string          `json:"event"`
			Return json.RawMessage `json:"return"`
			QMP    json.RawMessage `json:"QMP"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("bad reply: %w", err)
		}
		switch {
		case m.Event != "":
			continue
		case m.Error != nil:
			return nil, fmt.Errorf("%s: %s", m.Error.Class, m.Error.Desc)
		case m.QMP != nil:
			return m.QMP, nil
		}
		return m.Return, nil
	}
}
