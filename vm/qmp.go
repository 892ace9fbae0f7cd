// QEMU's monitor: one QMP command at a time over the socket that
// Options.Monitor names.

package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
)

// qmpMessage is what QEMU sends: a greeting, a reply (return or error),
// or an asynchronous event, which a client skips.
type qmpMessage struct {
	Greeting *json.RawMessage `json:"QMP"`
	Return   *json.RawMessage `json:"return"`
	Error    *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

// qmpExecute connects to the QMP socket at path, leaves capability
// negotiation and runs command (without arguments), e.g. "inject-nmi".
// ctx bounds the whole exchange.
func qmpExecute(ctx context.Context, path, command string) error {
	if path == "" {
		return errors.New("qmp: the VM has no monitor")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	defer func() { _ = conn.Close() }() // teardown: nothing is written through it any more
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // a deadline that cannot be set only leaves the context to cut the wait
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	dec := json.NewDecoder(conn)
	var greeting qmpMessage
	if err := dec.Decode(&greeting); err != nil {
		return fmt.Errorf("qmp: reading the greeting: %w", err)
	}
	if greeting.Greeting == nil {
		return errors.New("qmp: the socket did not greet as QMP")
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		if err := json.NewEncoder(conn).Encode(map[string]string{"execute": cmd}); err != nil {
			return fmt.Errorf("qmp: %s: %w", cmd, err)
		}
		if err := qmpReply(dec, cmd); err != nil {
			return err
		}
	}
	return nil
}

// qmpReply reads messages until the reply to cmd, skipping events.
func qmpReply(dec *json.Decoder, cmd string) error {
	for {
		var m qmpMessage
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("qmp: %s: reading the reply: %w", cmd, err)
		}
		switch {
		case m.Error != nil:
			return fmt.Errorf("qmp: %s: %s: %s", cmd, m.Error.Class, m.Error.Desc)
		case m.Return != nil:
			return nil
		}
	}
}
