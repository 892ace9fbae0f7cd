package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQMP serves one connection as QEMU's monitor does: a greeting, an
// event before each reply, errors for commands it does not know. It
// records the commands it got.
func fakeQMP(t *testing.T, known ...string) (path string, got chan []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "qmp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	got = make(chan []string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }() // teardown: nothing is written through it any more
		var cmds []string
		defer func() { got <- cmds }()
		_, _ = conn.Write([]byte(`{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}` + "\n"))
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var req struct{ Execute string }
			if json.Unmarshal(sc.Bytes(), &req) != nil {
				return
			}
			cmds = append(cmds, req.Execute)
			_, _ = conn.Write([]byte(`{"event": "NIC_RX_FILTER_CHANGED", "data": {}}` + "\n"))
			ok := req.Execute == "qmp_capabilities"
			for _, k := range known {
				ok = ok || req.Execute == k
			}
			if ok {
				_, _ = conn.Write([]byte(`{"return": {}}` + "\n"))
			} else {
				_, _ = conn.Write([]byte(`{"error": {"class": "CommandNotFound", "desc": "The command ` + req.Execute + ` has not been found"}}` + "\n"))
			}
		}
	}()
	return path, got
}

func TestQMPExecute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.Run("inject-nmi", func(t *testing.T) {
		path, got := fakeQMP(t, "inject-nmi")
		if err := qmpExecute(ctx, path, "inject-nmi"); err != nil {
			t.Fatal(err)
		}
		if cmds := <-got; strings.Join(cmds, " ") != "qmp_capabilities inject-nmi" {
			t.Errorf("commands sent: %q", cmds)
		}
	})
	t.Run("error reply", func(t *testing.T) {
		path, _ := fakeQMP(t)
		err := qmpExecute(ctx, path, "inject-nmi")
		if err == nil || !strings.Contains(err.Error(), "CommandNotFound") {
			t.Errorf("qmpExecute = %v, want QEMU's error", err)
		}
	})
	t.Run("no monitor", func(t *testing.T) {
		if err := qmpExecute(ctx, "", "inject-nmi"); err == nil {
			t.Error("qmpExecute without a monitor succeeded")
		}
	})
	t.Run("silent socket", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mute.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }() // teardown: nothing is written through it any more
		go func() {
			if c, err := ln.Accept(); err == nil {
				defer func() { _ = c.Close() }() // teardown: nothing is written through it any more
				time.Sleep(10 * time.Second)
			}
		}()
		sctx, scancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer scancel()
		start := time.Now()
		if err := qmpExecute(sctx, path, "inject-nmi"); err == nil {
			t.Error("qmpExecute on a mute socket succeeded")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("qmpExecute took %v past its 300ms context", d)
		}
	})
}
