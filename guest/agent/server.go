// Package agent is the guest side of ktest: an SSH server (public-key auth
// only) that runs commands, copies files and powers the guest off, plus the
// early-boot chores of a uinit (mounts, entropy, networking).
//
// Serve needs neither PID 1 nor root, so tests run the real server
// in-process; the boot helpers are only called by cmd/ktest-agent.
package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ktest-dev/ktest/guest/proto"
)

// Config is what Serve needs. HostKey and AuthorizedKey are required.
type Config struct {
	// HostKey identifies the agent; the host pins its public half.
	HostKey ssh.Signer
	// AuthorizedKey is the one client key allowed in. Password and
	// keyboard-interactive authentication are never offered.
	AuthorizedKey ssh.PublicKey
	// Shell runs exec requests as Shell -c CMD and shell requests as an
	// interactive Shell. Empty means no shell: exec commands are split
	// into words (proto.SplitCommand) and run directly; shell requests fail.
	Shell string
	// Env is the base environment of commands; nil means os.Environ().
	// Client "env" requests are appended.
	Env []string
	// Dir is the working directory of commands; empty means "/".
	Dir string
	// PowerOff is called for "ktest-agent poweroff" after the exit status
	// has been sent and the client has hung up (or a short grace period
	// has passed). Nil makes poweroff requests fail.
	PowerOff func() error
	// Log receives connection and authentication errors; nil discards.
	Log io.Writer
}

// LoadConfig reads the host key and authorized key files baked into the
// image (proto.AgentHostKeyPath, proto.AgentAuthorizedKeyPath).
func LoadConfig(hostKeyPath, authorizedKeyPath string) (Config, error) {
	pemBytes, err := os.ReadFile(hostKeyPath)
	if err != nil {
		return Config{}, fmt.Errorf("read host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return Config{}, fmt.Errorf("parse host key %s: %w", hostKeyPath, err)
	}
	authBytes, err := os.ReadFile(authorizedKeyPath)
	if err != nil {
		return Config{}, fmt.Errorf("read authorized key: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(authBytes)
	if err != nil {
		return Config{}, fmt.Errorf("parse authorized key %s: %w", authorizedKeyPath, err)
	}
	return Config{HostKey: signer, AuthorizedKey: pub}, nil
}

// handshakeTimeout bounds a client that connects but never finishes the
// SSH handshake. Generous because the guest may be emulated (TCG).
const handshakeTimeout = 60 * time.Second

// Serve accepts SSH connections on ln until ctx is cancelled, then closes
// ln and every open connection (killing the commands they run) and returns
// nil. Any other accept error is returned.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.HostKey == nil || cfg.AuthorizedKey == nil {
		return errors.New("agent: Config needs HostKey and AuthorizedKey")
	}
	srv := &server{cfg: cfg, conns: map[net.Conn]struct{}{}}
	if srv.cfg.Log == nil {
		srv.cfg.Log = io.Discard
	}
	if srv.cfg.Env == nil {
		srv.cfg.Env = os.Environ()
	}
	if srv.cfg.Dir == "" {
		srv.cfg.Dir = "/"
	}
	want := cfg.AuthorizedKey.Marshal()
	srv.ssh = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), want) {
				return nil, nil
			}
			return nil, fmt.Errorf("agent: key %s of %s is not the authorized key", ssh.FingerprintSHA256(key), meta.RemoteAddr())
		},
		// No PasswordCallback or KeyboardInteractiveCallback: those
		// methods are not offered at all.
	}
	srv.ssh.AddHostKey(cfg.HostKey)

	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close() // shutting down: Serve returns either way
		srv.closeAll()
	})
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("agent: accept: %w", err)
		}
		if !srv.track(conn) {
			_ = conn.Close() // refused while closing: nothing was said on it
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer srv.untrack(conn)
			srv.handleConn(conn)
		}()
	}
}

type server struct {
	cfg Config
	ssh *ssh.ServerConfig

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close() // shutting down every connection: nothing more to say
	}
}

func (s *server) logf(format string, args ...any) {
	Say(s.cfg.Log, "ktest-agent: "+format, args...)
}

func (s *server) handleConn(conn net.Conn) {
	defer func() { _ = conn.Close() }() // the connection is done either way
	// Without the deadline a client that never finishes its handshake
	// would hold the connection forever: refuse it instead.
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		s.logf("%s: %v", conn.RemoteAddr(), err)
		return
	}
	sconn, chans, reqs, err := ssh.NewServerConn(conn, s.ssh)
	if err != nil {
		// EOF is a client that gave up before we were up (QEMU user
		// net forwards connections the host already abandoned): noise.
		if !quietHandshakeError(err) {
			s.logf("handshake with %s: %v", conn.RemoteAddr(), err)
		}
		return
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		s.logf("%s: %v", conn.RemoteAddr(), err) // the session would end at the handshake's deadline
		return
	}
	hungUp := make(chan struct{})
	go func() {
		_ = sconn.Wait() // it returns when the client hangs up, which is all this waits for
		close(hungUp)
	}()
	go ssh.DiscardRequests(reqs)

	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are served") // the client asked for what is not served; if it is gone, so is the channel
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			s.logf("accept channel: %v", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := &session{srv: s, ch: ch, hungUp: hungUp, env: append([]string(nil), s.cfg.Env...)}
			sess.serve(chReqs)
		}()
	}
	wg.Wait()
}

// quietHandshakeError reports handshake failures that are only noise: the
// host dials several connections while the guest boots and drops the
// losers, before or during authentication (QEMU user net may even deliver
// connections the host already abandoned).
func quietHandshakeError(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	var sae *ssh.ServerAuthError
	if !errors.As(err, &sae) {
		return false
	}
	for _, e := range sae.Errors {
		if !errors.Is(e, ssh.ErrNoAuth) {
			return false
		}
	}
	return true
}

// Payloads of the session requests we serve (RFC 4254 section 6).
type (
	envRequest struct {
		Name, Value string
	}
	ptyRequest struct {
		Term              string
		Columns, Rows     uint32
		WidthPx, HeightPx uint32
		Modes             string
	}
	windowChangeRequest struct {
		Columns, Rows     uint32
		WidthPx, HeightPx uint32
	}
	execRequest struct {
		Command string
	}
	signalRequest struct {
		Signal string
	}
	exitStatusMsg struct {
		Status uint32
	}
	exitSignalMsg struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}
)

// session is one SSH session channel: at most one command.
type session struct {
	srv    *server
	ch     ssh.Channel
	hungUp <-chan struct{}
	env    []string

	mu      sync.Mutex
	pty     *pty
	proc    *process // nil until a command started
	started bool
}

func (s *session) serve(reqs <-chan *ssh.Request) {
	for req := range reqs {
		ok, then := s.handle(req)
		if req.WantReply {
			_ = req.Reply(ok, nil) // a client gone is seen by the session's own reads
		}
		// Work that may end the channel runs only after the reply, so a
		// fast command cannot close the channel under its own request.
		if then != nil {
			then()
		}
	}
	// The client closed the channel: nothing may outlive it.
	s.mu.Lock()
	if s.proc != nil {
		s.proc.killGroup()
	}
	if s.pty != nil && s.proc == nil {
		s.pty.close()
	}
	s.mu.Unlock()
	_ = s.ch.Close() // the session is over: nothing more to send
}

func (s *session) handle(req *ssh.Request) (ok bool, then func()) {
	switch req.Type {
	case "env":
		var r envRequest
		if ssh.Unmarshal(req.Payload, &r) != nil {
			return false, nil
		}
		s.mu.Lock()
		s.env = append(s.env, r.Name+"="+r.Value)
		s.mu.Unlock()
		return true, nil
	case "pty-req":
		var r ptyRequest
		if ssh.Unmarshal(req.Payload, &r) != nil {
			return false, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pty != nil || s.started {
			return false, nil
		}
		p, err := openPty()
		if err != nil {
			s.srv.logf("pty: %v", err)
			return false, nil
		}
		p.resize(r.Columns, r.Rows)
		s.pty = p
		if r.Term != "" {
			s.env = append(s.env, "TERM="+r.Term)
		}
		return true, nil
	case "window-change":
		var r windowChangeRequest
		if ssh.Unmarshal(req.Payload, &r) != nil {
			return false, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pty == nil {
			return false, nil
		}
		s.pty.resize(r.Columns, r.Rows)
		return true, nil
	case "signal":
		var r signalRequest
		if ssh.Unmarshal(req.Payload, &r) != nil {
			return false, nil
		}
		sig, ok := signalByName(r.Signal)
		if !ok {
			return false, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc == nil {
			return false, nil
		}
		return s.proc.signalGroup(sig) == nil, nil
	case "exec", "shell":
		var command string
		if req.Type == "exec" {
			var r execRequest
			if ssh.Unmarshal(req.Payload, &r) != nil {
				return false, nil
			}
			command = r.Command
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.started {
			return false, nil
		}
		s.started = true
		return true, s.start(req.Type == "shell", command)
	default:
		// subsystem (sftp), x11-req, auth-agent-req...: not served.
		return false, nil
	}
}

// start prepares the command and returns the function that runs it; it is
// called after the request has been answered.
func (s *session) start(interactive bool, command string) func() {
	if !interactive {
		if words, err := proto.SplitCommand(command); err == nil && len(words) > 0 && words[0] == proto.AgentName {
			return func() { go s.internal(words[1:]) }
		}
	}
	argv, err := s.argv(interactive, command)
	if err != nil {
		return func() { go s.fail(err) }
	}
	p, err := startProcess(argv, s.env, s.srv.cfg.Dir, s.ch, s.pty)
	if err != nil {
		return func() { go s.fail(err) }
	}
	s.proc = p
	return func() {
		go func() {
			st := p.wait()
			s.finish(st)
		}()
	}
}

func (s *session) argv(interactive bool, command string) ([]string, error) {
	sh := s.srv.cfg.Shell
	switch {
	case interactive && sh == "":
		return nil, errors.New("no shell in this image")
	case interactive:
		return []string{sh}, nil
	case sh != "":
		return []string{sh, "-c", command}, nil
	}
	words, err := proto.SplitCommand(command)
	if err != nil {
		return nil, fmt.Errorf("no shell in this image to run %q: %w", command, err)
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// exitCodeNotRun is what a shell reports for a command it could not run.
const exitCodeNotRun = 127

func (s *session) fail(err error) {
	Say(s.ch.Stderr(), "ktest-agent: %v", err)
	s.finish(exitState{code: exitCodeNotRun})
}

// finish reports how the command ended and closes the channel.
func (s *session) finish(st exitState) {
	_ = s.ch.CloseWrite() // the exit status follows; a client gone cannot be told
	if st.signal != 0 {
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(exitSignalMsg{ // as above: best effort to a client that may be gone
			Signal:     signalName(st.signal),
			CoreDumped: st.coreDumped,
		}))
	}
	_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{Status: uint32(st.code)}))
	_ = s.ch.Close()
}

// internal serves "ktest-agent CMD ARGS..." requests in-process.
func (s *session) internal(args []string) {
	stderr := s.ch.Stderr()
	if len(args) == 0 {
		Say(stderr, "ktest-agent: missing command (%s, %s or %s)", proto.CmdPut, proto.CmdGet, proto.CmdPowerOff)
		s.finish(exitState{code: 2})
		return
	}
	var err error
	switch args[0] {
	case proto.CmdPut:
		if len(args) != 3 {
			err = usageError("usage: ktest-agent put PATH MODE")
			break
		}
		var mode os.FileMode
		if mode, err = proto.ParseMode(args[2]); err == nil {
			err = Put(s.ch, args[1], mode)
		}
	case proto.CmdGet:
		if len(args) != 2 {
			err = usageError("usage: ktest-agent get PATH")
			break
		}
		err = Get(s.ch, args[1])
	case proto.CmdPowerOff:
		if len(args) != 1 {
			err = usageError("usage: ktest-agent poweroff")
			break
		}
		if s.srv.cfg.PowerOff == nil {
			err = errors.New("poweroff is not enabled in this agent")
			break
		}
		s.finish(exitState{})
		s.powerOffLater()
		return
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	if err != nil {
		Say(stderr, "ktest-agent: %v", err)
		code := 1
		var ue usageError
		if errors.As(err, &ue) {
			code = 2
		}
		s.finish(exitState{code: code})
		return
	}
	s.finish(exitState{})
}

type usageError string

func (e usageError) Error() string { return string(e) }

// powerOffGrace is how long power-off waits for the client to hang up, so
// the exit status reaches it before the machine stops.
const powerOffGrace = 2 * time.Second

func (s *session) powerOffLater() {
	go func() {
		select {
		case <-s.hungUp:
		case <-time.After(powerOffGrace):
		}
		if err := s.srv.cfg.PowerOff(); err != nil {
			s.srv.logf("poweroff: %v", err)
		}
	}()
}
