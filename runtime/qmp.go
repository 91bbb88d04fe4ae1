package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmpCommand runs one QMP command on the VMM's monitor socket: stop
// freezes every vCPU of the VM, cont resumes them. A connection per
// command keeps the VMM's monitor free between uses.
func qmpCommand(ctx context.Context, socket, command string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
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
		return fmt.Errorf("qmp %s: greeting: %w", command, err)
	}
	for _, c := range []string{"qmp_capabilities", command} {
		if err := json.NewEncoder(conn).Encode(map[string]string{"execute": c}); err != nil {
			return fmt.Errorf("qmp %s: %w", c, err)
		}
		if _, err := qmpRead(rd); err != nil {
			return fmt.Errorf("qmp %s: %w", c, err)
		}
	}
	return nil
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
