// Package vmstate is the registry of VMs kept up by `ktest boot`: for
// each, a private directory holding its address, the client key, a
// known_hosts line pinning the guest's host key, and state.json, so that
// `ktest ssh` (or OpenSSH) can reach it.
package vmstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/internal/cachedir"
	"github.com/ktest-dev/ktest/remote"
)

// State is one registered VM: the schema of state.json.
type State struct {
	PID        int       `json:"pid"` // the ktest boot process
	Addr       string    `json:"addr"`
	KeyFile    string    `json:"key_file"`    // client private key, OpenSSH format
	KnownHosts string    `json:"known_hosts"` // pins the agent's host key
	HostKey    string    `json:"host_key"`    // authorized_keys format
	ConsoleLog string    `json:"console_log"`
	Kernel     string    `json:"kernel"`
	Started    time.Time `json:"started"`

	// Dir is the state's directory; not stored.
	Dir string `json:"-"`
}

// StateFile is the name of the JSON document in a state directory.
const StateFile = "state.json"

// Root is where running VMs are registered: $XDG_RUNTIME_DIR/ktest or,
// without it, the cache's run directory.
func Root() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ktest")
	}
	return filepath.Join(cachedir.Dir(), "run")
}

// Register records the VM at addr, reached with keys, as this process's
// and returns its state. Its directory is 0700 and every file 0600,
// written atomically; the caller removes it (Remove) when the VM goes.
func Register(addr string, keys *remote.Keys, consoleLog, kernel string) (*State, error) {
	dir := filepath.Join(Root(), strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	hostKey := keys.HostSigner.PublicKey()
	st := &State{
		PID: os.Getpid(), Addr: addr,
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		HostKey:    strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))),
		ConsoleLog: consoleLog, Kernel: kernel, Started: time.Now(), Dir: dir,
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	for _, file := range []struct {
		path string
		data []byte
	}{
		{st.KeyFile, keys.ClientPrivatePEM},
		{st.KnownHosts, []byte(knownhosts.Line([]string{st.Addr}, hostKey) + "\n")},
		{filepath.Join(dir, StateFile), append(js, '\n')},
	} {
		if err := atomicfile.WriteFile(file.path, file.data, 0o600); err != nil {
			_ = os.RemoveAll(dir) // error path: a partial state is removed as well as can be
			return nil, err
		}
	}
	return st, nil
}

// Remove unregisters the VM.
func (s *State) Remove() error { return os.RemoveAll(s.Dir) }

// Read reads the state in dir.
func Read(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	st.Dir = dir
	return &st, nil
}

// Find returns the state of the VM of `ktest boot` process pid, or of the
// only one running when pid is 0. States of processes that are gone are
// removed on the way.
func Find(pid int) (*State, error) {
	root := Root()
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var live []*State
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		st, err := Read(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue // being written, or not ours
		case err != nil:
			return nil, err
		case !processAlive(st.PID):
			_ = os.RemoveAll(dir) // its ktest boot was killed before cleaning up; best effort, skipped anyway
			continue
		}
		if pid == 0 || st.PID == pid {
			live = append(live, st)
		}
	}
	switch {
	case len(live) == 1:
		return live[0], nil
	case len(live) == 0 && pid != 0:
		return nil, fmt.Errorf("no VM of 'ktest boot' process %d in %s", pid, root)
	case len(live) == 0:
		return nil, fmt.Errorf("no VM running: start one with 'ktest boot' (looked in %s)", root)
	}
	var pids []string
	for _, st := range live {
		pids = append(pids, fmt.Sprintf("%d (%s, since %s)", st.PID, st.Addr, st.Started.Format(time.TimeOnly)))
	}
	return nil, fmt.Errorf("%d VMs running; choose one with --pid: %s", len(live), strings.Join(pids, ", "))
}

// Keys reads the client key and the pinned host key.
func (s *State) Keys() (client ssh.Signer, host ssh.PublicKey, err error) {
	pem, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("client key: %w", err)
	}
	if client, err = ssh.ParsePrivateKey(pem); err != nil {
		return nil, nil, fmt.Errorf("client key %s: %w", s.KeyFile, err)
	}
	if host, _, _, _, err = ssh.ParseAuthorizedKey([]byte(s.HostKey)); err != nil {
		return nil, nil, fmt.Errorf("host key of VM %d: %w", s.PID, err)
	}
	return client, host, nil
}

// Dial connects to the VM's agent with its keys.
func (s *State) Dial(ctx context.Context) (*remote.Client, error) {
	client, host, err := s.Keys()
	if err != nil {
		return nil, err
	}
	return remote.Dial(ctx, s.Addr, host, client)
}

// OpenSSH is the OpenSSH command line that reaches the VM.
func (s *State) OpenSSH() string {
	port := s.Addr[strings.LastIndexByte(s.Addr, ':')+1:]
	return fmt.Sprintf("ssh -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -p %s root@127.0.0.1",
		s.KeyFile, s.KnownHosts, port)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
