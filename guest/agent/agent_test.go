package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 300_000)
	rand.Read(data)
	tests := []struct {
		name    string
		path    string
		mode    fs.FileMode
		wantErr string
	}{
		{"new file", filepath.Join(dir, "a.bin"), 0o640, ""},
		{"replace", filepath.Join(dir, "a.bin"), 0o755, ""},
		{"space in name", filepath.Join(dir, "b c"), 0o600, ""},
		{"missing dir", filepath.Join(dir, "nope", "x"), 0o644, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Put(bytes.NewReader(data), tt.path, tt.mode)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Put = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tt.mode {
				t.Errorf("mode = %v, want %v", st.Mode().Perm(), tt.mode)
			}
			var got bytes.Buffer
			if err := Get(&got, tt.path); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Errorf("Get returned %d bytes that differ from the %d put", got.Len(), len(data))
			}
		})
	}
	// No temporary files are left behind, failed or not.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".ktest-put-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestPutFailedReadLeavesOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Put(&failingReader{data: []byte("partial new")}, path, 0o644)
	if err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("file = %q after a failed Put, want the old content", got)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory has %d entries, want only the file", len(ents))
	}
}

type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("connection lost")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestGetRefusesNonRegular(t *testing.T) {
	for _, p := range []string{t.TempDir(), "/dev/null", filepath.Join(t.TempDir(), "missing")} {
		if err := Get(&bytes.Buffer{}, p); err == nil {
			t.Errorf("Get(%s) succeeded", p)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/mnt/plain", "/mnt/plain"},
		{`/mnt/a\040b`, "/mnt/a b"},
		{`/mnt/tab\011x\134`, "/mnt/tab\tx\\"},
		{`/mnt/bad\09`, `/mnt/bad\09`},
		{`/end\04`, `/end\04`},
	}
	for _, tt := range tests {
		if got := unescapeMountPath(tt.in); got != tt.want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsMountPoint(t *testing.T) {
	if !isMountPoint("/proc") {
		t.Error("/proc is not reported as a mount point")
	}
	if isMountPoint(t.TempDir()) {
		t.Error("a fresh temp dir is reported as a mount point")
	}
}

func TestSignalNames(t *testing.T) {
	for _, name := range []string{"KILL", "INT", "TERM", "HUP", "USR1"} {
		sig, ok := signalByName(name)
		if !ok || signalName(sig) != name {
			t.Errorf("signal %s -> %v, %v -> %s", name, sig, ok, signalName(sig))
		}
	}
	if _, ok := signalByName("NOPE"); ok {
		t.Error("unknown signal accepted")
	}
}

// TestCreditHWRNG feeds the kernel pool from the hardware RNG, as the
// agent does at early boot. It needs root and a /dev/hwrng.
func TestCreditHWRNG(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/dev/hwrng"); err != nil {
		t.Skip("no /dev/hwrng")
	}
	if err := creditHWRNG(); err != nil {
		t.Fatal(err)
	}
	if !entropyReady() {
		t.Error("pool not ready after crediting hwrng bytes")
	}
}

// TestNetUp configures a tap device in a private network namespace with
// the real rtnetlink code.
func TestNetUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	done := make(chan error)
	go func() {
		// The thread enters a new netns and is never unlocked, so the
		// runtime discards it when this goroutine ends.
		runtime.LockOSThread()
		done <- netUpInNewNetns()
	}()
	if err := <-done; err != nil {
		if errors.Is(err, errNoNetns) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

var errNoNetns = errors.New("cannot create a network namespace with a tap device")

func netUpInNewNetns() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return errors.Join(errNoNetns, err)
	}
	tun, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return errors.Join(errNoNetns, err)
	}
	defer func() { _ = unix.Close(tun) }() // test cleanup: best effort
	ifr, err := unix.NewIfreq("ktest0")
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(tun), unix.TUNSETIFF, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return errors.Join(errNoNetns, errno)
	}
	cfg := NetConfig{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2")}
	name, err := NetUp(context.Background(), cfg)
	if err != nil {
		return err
	}
	if name != "ktest0" {
		return errors.New("configured " + name + ", want ktest0")
	}
	// Doing it twice is fine: the agent may be restarted.
	if _, err := NetUp(context.Background(), cfg); err != nil {
		return errors.Join(errors.New("second NetUp"), err)
	}
	ifc, err := net.InterfaceByName("ktest0")
	if err != nil {
		return err
	}
	if ifc.Flags&net.FlagUp == 0 {
		return errors.New("ktest0 is not up")
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return err
	}
	if !strings.Contains(","+joinAddrs(addrs)+",", ",10.0.2.15/24,") {
		return errors.New("ktest0 addresses: " + joinAddrs(addrs))
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil || lo.Flags&net.FlagUp == 0 {
		return errors.New("lo is not up")
	}
	// /proc/thread-self follows this thread's netns.
	routes, err := os.ReadFile("/proc/thread-self/net/route")
	if err != nil {
		return err
	}
	// Destination 0.0.0.0 via gateway 10.0.2.2 (0202000A little-endian).
	if !strings.Contains(string(routes), "ktest0\t00000000\t0202000A") {
		return errors.New("no default route via 10.0.2.2:\n" + string(routes))
	}
	return nil
}

func joinAddrs(as []net.Addr) string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

// TestServeWithoutShell runs commands by splitting them into words when
// the image has no shell, and refuses what needs one.
func TestServeWithoutShell(t *testing.T) {
	hostKey, clientKey := newSigner(t), newSigner(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, Config{HostKey: hostKey, AuthorizedKey: clientKey.PublicKey(), Dir: t.TempDir()})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(clientKey)},
		HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }() // test cleanup: best effort

	tests := []struct {
		cmd        string
		wantOut    string
		wantStatus int
		wantErrOut string
	}{
		{"echo 'two words' x", "two words x\n", 0, ""},
		{"echo $HOME", "", exitCodeNotRun, "no shell in this image"},
		{"/nonexistent/cmd", "", exitCodeNotRun, "start /nonexistent/cmd"},
		{"ktest-agent poweroff", "", 1, "poweroff is not enabled"},
		{"ktest-agent frobnicate", "", 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			sess, err := client.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sess.Close() }() // test cleanup: best effort
			var out, errOut bytes.Buffer
			sess.Stdout, sess.Stderr = &out, &errOut
			err = sess.Run(tt.cmd)
			status := 0
			var ee *ssh.ExitError
			if errors.As(err, &ee) {
				status = ee.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus || out.String() != tt.wantOut || !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
					status, out.String(), errOut.String(), tt.wantStatus, tt.wantOut, tt.wantErrOut)
			}
		})
	}

	// Interactive shells and subsystems (sftp) are not served.
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var shellErr bytes.Buffer
	sess.Stderr = &shellErr
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	var ee *ssh.ExitError
	if err := sess.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != exitCodeNotRun || !strings.Contains(shellErr.String(), "no shell") {
		t.Errorf("shell without a shell: %v, stderr %q; want status %d", err, shellErr.String(), exitCodeNotRun)
	}
	_ = sess.Close() // io.EOF: the server closed it when the command ended
	sess, err = client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
	_ = sess.Close() // the server may have closed it already: io.EOF
}

func newSigner(t testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
