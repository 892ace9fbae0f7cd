package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// freezingProxy relays TCP between a client and the agent until freeze,
// after which it passes nothing either way, as a guest whose CPUs are
// stuck in the kernel: its TCP peer stays open but nothing answers.
type freezingProxy struct {
	addr    string
	frozen  chan struct{}
	release chan struct{}
	once    sync.Once
}

func startFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{addr: ln.Addr().String(), frozen: make(chan struct{}), release: make(chan struct{})}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		close(p.release)
		_ = ln.Close() // teardown: nothing is written through it any more
		mu.Lock()
		for _, c := range conns {
			_ = c.Close() // teardown: nothing is written through it any more
		}
		mu.Unlock()
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close() // teardown: nothing is written through it any more
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go p.relay(out, in)
			go p.relay(in, out)
		}
	}()
	return p
}

func (p *freezingProxy) freeze() { p.once.Do(func() { close(p.frozen) }) }

// relay copies src to dst, holding whatever it read once frozen.
func (p *freezingProxy) relay(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-p.release
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestFrozenPeer: a guest that stops answering in the middle of a
// command can neither keep Run waiting past its context plus
// abandonAfter (closing the session alone never unblocks Wait then), nor
// answer a Ping; before it froze, Ping worked.
func TestFrozenPeer(t *testing.T) {
	defer func(d time.Duration) { abandonAfter = d }(abandonAfter)
	abandonAfter = 500 * time.Millisecond
	a := startAgent(t)
	p := startFreezingProxy(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, p.addr, a.keys.HostSigner.PublicKey(), a.keys.ClientSigner)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }() // teardown: nothing is written through it any more
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if err := c.Ping(pctx); err != nil {
		t.Fatalf("Ping of a live agent: %v", err)
	}

	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := &notifyWriter{wrote: make(chan struct{}, 1)}
	go func() {
		_, err := c.Run(rctx, "echo running; sleep 300", started, io.Discard)
		done <- err
	}()
	select {
	case <-started.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not start")
	}
	p.freeze()
	pctx2, pcancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer pcancel2()
	if err := c.Ping(pctx2); err == nil {
		t.Error("Ping of a frozen guest succeeded")
	}
	start := time.Now()
	rcancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > abandonAfter+2*time.Second {
			t.Errorf("Run returned %v after its context ended, want about %v", d, abandonAfter)
		}
	case <-time.After(abandonAfter + 10*time.Second):
		t.Fatal("Run still waits on a frozen guest")
	}
}
