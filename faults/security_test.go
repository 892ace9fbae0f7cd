package faults

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vm"
	"github.com/ktest-dev/ktest/vmstate"
)

// hostListener is a TCP listener on the host's 127.0.0.1 that counts the
// connections it accepts: the target the guest must not reach.
type hostListener struct {
	ln       net.Listener
	accepted atomic.Int32
}

func listenHost(t *testing.T) *hostListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }() // a sink: what it drops is not checked
		}
	}()
	t.Cleanup(func() { _ = ln.Close() }) // teardown
	return h
}

func (h *hostListener) port() int { return h.ln.Addr().(*net.TCPAddr).Port }

// fioConnect is a guest command that opens a TCP connection to host:port
// and writes 4 KiB: fio's net engine, the only tool in the guest image
// that makes TCP connections (u-root's busybox there has no nc or wget).
func fioConnect(host string, port int) string {
	return fmt.Sprintf("fio --name=connect --ioengine=net --protocol=tcp --hostname=%s --port=%d --rw=write --bs=4k --size=4k", host, port)
}

// TestSecurity checks the guest's isolation and ktest's handling of keys
// against a VM booted by `ktest boot` (the stock 6.1 kernel): key-only
// SSH with per-run keys and a pinned host key, a forward on 127.0.0.1
// only, a guest that reaches nothing, no key material in logs, private
// permissions; and that patch paths cannot leave the tree.
func TestSecurity(t *testing.T) {
	requireSuite(t)
	kernel := stockKernelImage(t)

	t.Run("per-run keys differ", func(t *testing.T) {
		a, err := remote.GenerateKeys()
		if err != nil {
			t.Fatal(err)
		}
		b, err := remote.GenerateKeys()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a.HostSigner.PublicKey().Marshal(), b.HostSigner.PublicKey().Marshal()) ||
			bytes.Equal(a.ClientSigner.PublicKey().Marshal(), b.ClientSigner.PublicKey().Marshal()) ||
			bytes.Equal(a.HostPrivatePEM, b.HostPrivatePEM) {
			t.Error("two GenerateKeys calls returned the same keys")
		}
		if bytes.Equal(a.HostSigner.PublicKey().Marshal(), a.ClientSigner.PublicKey().Marshal()) {
			t.Error("host and client key are the same key")
		}
	})

	rt := t.TempDir() // XDG_RUNTIME_DIR: where ktest boot registers its VM
	tmp := t.TempDir()
	boot := startKtest(t, procOpts{tmpDir: tmp, env: []string{"XDG_RUNTIME_DIR=" + rt}}, "boot", "--kernel", kernel)
	if !boot.waitFor("VM running; Ctrl-C stops it.", 5*time.Minute) {
		t.Fatalf("ktest boot did not come up; stderr:\n%s", tail(boot.stderr.String(), 30))
	}
	stateDir := filepath.Join(rt, "ktest", strconv.Itoa(boot.cmd.Process.Pid))
	st, err := vmstate.Read(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, hostKey, err := st.Keys()
	if err != nil {
		t.Fatal(err)
	}
	qemus := qemuProcs(boot.mark)
	if len(qemus) != 1 {
		t.Fatalf("want the boot's one QEMU, found:\n%s", describeProcs(qemus))
	}
	qemu := qemus[0]
	_, portStr, _ := net.SplitHostPort(st.Addr)
	port, _ := strconv.Atoi(portStr)

	t.Run("boot state is private", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{stateDir: 0o700 | os.ModeDir, st.KeyFile: 0o600,
			st.KnownHosts: 0o600, filepath.Join(stateDir, vmstate.StateFile): 0o600} {
			info, err := os.Stat(path)
			if err != nil {
				t.Error(err)
			} else if info.Mode() != want {
				t.Errorf("%s: mode %v, want %v", path, info.Mode(), want)
			}
		}
	})

	t.Run("key-only SSH with a pinned host key", func(t *testing.T) {
		other, err := remote.GenerateKeys()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other.HostSigner.PublicKey().Marshal(), hostKey.Marshal()) ||
			bytes.Equal(other.ClientSigner.PublicKey().Marshal(), clientKey.PublicKey().Marshal()) {
			t.Error("the boot's keys equal freshly generated ones")
		}
		t.Run("right keys", func(t *testing.T) {
			c, err := remote.Dial(ctxFor(t, 30*time.Second), st.Addr, hostKey, clientKey)
			if err != nil {
				t.Fatalf("Dial with the run's keys: %v", err)
			}
			defer func() { _ = c.Close() }() // teardown: nothing is written through it any more
			if code, err := c.Run(ctxFor(t, 30*time.Second), "true", nil, nil); code != 0 || err != nil {
				t.Errorf("true: exit %d, %v", code, err)
			}
		})
		t.Run("wrong client key", func(t *testing.T) {
			start := time.Now()
			c, err := remote.Dial(ctxFor(t, 30*time.Second), st.Addr, hostKey, other.ClientSigner)
			if c != nil {
				_ = c.Close() // teardown: nothing is written through it any more
			}
			if !errors.Is(err, remote.ErrAuth) {
				t.Errorf("Dial with another client key = %v, want remote.ErrAuth", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusal took %v: ErrAuth must not be retried", d)
			}
		})
		t.Run("wrong host key", func(t *testing.T) {
			c, err := remote.Dial(ctxFor(t, 30*time.Second), st.Addr, other.HostSigner.PublicKey(), clientKey)
			if c != nil {
				_ = c.Close() // teardown: nothing is written through it any more
			}
			if !errors.Is(err, remote.ErrHostKeyMismatch) {
				t.Errorf("Dial pinning another host key = %v, want remote.ErrHostKeyMismatch", err)
			}
		})
		t.Run("password and keyboard-interactive refused", func(t *testing.T) {
			for name, auth := range map[string]ssh.AuthMethod{
				"password": ssh.Password("root"),
				"keyboard-interactive": ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
					return []string{"root"}, nil
				}),
			} {
				cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{auth},
					HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 20 * time.Second}
				c, err := ssh.Dial("tcp", st.Addr, cfg)
				if err == nil {
					_ = c.Close() // teardown: nothing is written through it any more
					t.Errorf("%s authentication accepted", name)
				} else if !strings.Contains(err.Error(), "unable to authenticate") {
					t.Errorf("%s: %v, want an authentication refusal", name, err)
				}
			}
		})
	})

	t.Run("forward listens on 127.0.0.1 only", func(t *testing.T) {
		want := fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-:22", port)
		if !strings.Contains(qemu.cmdline, want) {
			t.Errorf("QEMU command line lacks %q:\n%s", want, qemu.cmdline)
		}
		if !strings.Contains(qemu.cmdline, "restrict=on") {
			t.Errorf("QEMU's user network is not restrict=on:\n%s", qemu.cmdline)
		}
		if n := strings.Count(qemu.cmdline, "hostfwd="); n != 1 {
			t.Errorf("%d forwards, want 1", n)
		}
		listeners := tcpListeners(t)
		if got := listeners[port]; len(got) != 1 || got[0] != "127.0.0.1" {
			t.Errorf("listeners on port %d: %v, want only 127.0.0.1", port, got)
		}
	})

	t.Run("guest reaches nothing", func(t *testing.T) {
		host := listenHost(t)
		ssh := func(cmd string) (int, string) {
			code, stdout, stderr := runKtest(t, 2*time.Minute, procOpts{tmpDir: tmp, env: []string{"XDG_RUNTIME_DIR=" + rt}},
				"ssh", "--pid", strconv.Itoa(boot.cmd.Process.Pid), cmd)
			return code, stdout + stderr
		}
		// The probe works: it connects to the guest's own agent port.
		// (The agent may then reset the connection over fio's garbage,
		// failing the write; only the connect matters.)
		if code, out := ssh(fioConnect("127.0.0.1", 22)); strings.Contains(out, "func=connect") || !strings.Contains(out, "Starting 1 process") {
			t.Fatalf("control: fio could not connect to the guest's own 127.0.0.1:22 (exit %d): the probe is broken\n%s", code, out)
		}
		for _, target := range []struct {
			name, host string
			port       int
		}{
			{"host listener via the gateway", "10.0.2.2", host.port()},
			{"host's SSH forward via the gateway", "10.0.2.2", port},
			{"QEMU's DNS address", "10.0.2.3", 53},
			{"an outside address", "1.1.1.1", 80},
		} {
			code, out := ssh(fioConnect(target.host, target.port))
			t.Logf("%s (%s:%d): exit %d: %s", target.name, target.host, target.port, code, grepLines(out, "err="))
			if code == 0 || !strings.Contains(out, "func=connect") {
				t.Errorf("%s (%s:%d): the guest connected (exit %d)\n%s", target.name, target.host, target.port, code, out)
			}
		}
		if n := host.accepted.Load(); n != 0 {
			t.Errorf("the host listener accepted %d connection(s) from the guest", n)
		}
	})

	t.Run("no key material in logs", func(t *testing.T) {
		consoleLog, err := os.ReadFile(st.ConsoleLog)
		if err != nil {
			t.Fatal(err)
		}
		clientPEM, err := os.ReadFile(st.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		body := pemBody(clientPEM)
		for name, text := range map[string]string{"console log": string(consoleLog),
			"ktest boot stdout": boot.stdout.String(), "ktest boot stderr": boot.stderr.String()} {
			for _, needle := range []string{"PRIVATE KEY", "openssh-key-v1", "b3BlbnNzaC1rZXktdjE", body[:40]} {
				if strings.Contains(text, needle) {
					t.Errorf("%s contains %q", name, needle)
				}
			}
		}
	})

	t.Run("stop", func(t *testing.T) {
		boot.signal(syscall.SIGINT)
		if code := boot.wait(time.Minute); code != 130 {
			t.Errorf("ktest boot after SIGINT: exit %d, want 130", code)
		}
		if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("VM state directory (with the client key) left behind: %v", err)
		}
		assertNoLeftovers(t, boot.mark, 5*time.Second, tmp)
	})

	t.Run("control: an unrestricted guest reaches the host", func(t *testing.T) {
		// The same probe against a VM with Outbound networking must
		// connect: the refusals above are the restriction's doing.
		host := listenHost(t)
		b := mustStartVM(t, ctxFor(t, 3*time.Minute), bootSpec{kernel: kernel, net: &vm.Net{Outbound: true}})
		var out bytes.Buffer
		code, err := b.Run(ctxFor(t, time.Minute), fioConnect("10.0.2.2", host.port()), &out, &out)
		if code != 0 || err != nil || host.accepted.Load() == 0 {
			t.Errorf("unrestricted guest to the host listener: exit %d, %v, %d accepted\n%s", code, err, host.accepted.Load(), out.String())
		}
		closeAndCheck(t, b)
	})

	t.Run("cache files are not world-writable", func(t *testing.T) {
		assertNotWorldWritable(t, cache(t).Dir)
	})

	t.Run("cached guest images hold no keys", func(t *testing.T) {
		images, _ := filepath.Glob(filepath.Join(cache(t).Dir, "initramfs", "*.cpio"))
		if len(images) == 0 {
			t.Fatal("no cached guest image")
		}
		for _, img := range images {
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("cpio", "-it", "--quiet")
			cmd.Stdin = f
			list, err := cmd.Output()
			_ = f.Close() // teardown: nothing is written through it any more
			if err != nil {
				t.Errorf("cpio -t %s: %v", img, err)
				continue
			}
			for _, name := range strings.Split(string(list), "\n") {
				if strings.HasPrefix(name, "etc/ktest/") || strings.Contains(name, "ssh_host") || strings.Contains(name, "id_ed25519") {
					t.Errorf("%s holds %s: keys belong only in the per-run image", img, name)
				}
			}
		}
	})

	t.Run("patch paths cannot escape the tree", func(t *testing.T) {
		testPathEscapes(t)
	})
}

// pemBody returns the base64 body of a PEM block, without its armour.
func pemBody(p []byte) string {
	var lines []string
	for _, l := range strings.Split(string(p), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "")
}

// tcpListeners returns the addresses listening on each TCP port, from
// /proc/net/tcp and /proc/net/tcp6 ("127.0.0.1", "0.0.0.0", "::", ...).
func tcpListeners(t *testing.T) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			if file == "/proc/net/tcp" {
				t.Fatal(err)
			}
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: TCP_LISTEN
				continue
			}
			hostHex, portHex, _ := strings.Cut(f[1], ":")
			p, _ := strconv.ParseInt(portHex, 16, 32)
			out[int(p)] = append(out[int(p)], procNetAddr(hostHex))
		}
	}
	return out
}

// procNetAddr decodes /proc/net/tcp's address: 32-bit words in host (little
// endian) order.
func procNetAddr(h string) string {
	b := make([]byte, len(h)/2)
	for i := range b {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		b[i] = byte(v)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b).String()
}

// assertNotWorldWritable checks that nothing under dir but symlinks is
// writable by others (sticky directories excepted).
func assertNotWorldWritable(t *testing.T, dir string) {
	t.Helper()
	n := 0
	// The callback reports what it finds and never stops the walk.
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		n++
		m := info.Mode()
		if m&os.ModeSymlink == 0 && m.Perm()&0o002 != 0 && m&os.ModeSticky == 0 {
			t.Errorf("world-writable: %s (%v)", path, m)
		}
		return nil
	})
	t.Logf("%d entries under %s checked", n, dir)
}

// assertNoSecrets checks that no file under dir holds a private key (PEM
// or OpenSSH armour, the OpenSSH key magic, raw or base64) or is
// world-writable. A per-run guest image, which carries the guest's
// private host key, is flagged by the OpenSSH magic.
func assertNoSecrets(t *testing.T, dir string) {
	t.Helper()
	needles := []string{"PRIVATE KEY", "openssh-key-v1", "b3BlbnNzaC1rZXktdjE"}
	// The callback reports what it finds and never stops the walk.
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.Mode()&os.ModeSymlink == 0 && info.Mode().Perm()&0o002 != 0 {
			t.Errorf("world-writable: %s (%v)", path, info.Mode())
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("reading %s: %v", path, err)
			return nil
		}
		for _, n := range needles {
			if i := bytes.Index(data, []byte(n)); i >= 0 {
				t.Errorf("%s holds key material (%q at offset %d)", path, n, i)
			}
		}
		return nil
	})
}

// testPathEscapes applies diffs whose paths leave the tree: through "..",
// as an absolute path, and through a symlink in the tree. Each must be
// refused as bad input (exit 2) naming the unsafe path, in a dry run, into
// a new worktree (--out) and in place, with nothing written anywhere.
func testPathEscapes(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	treeDir := filepath.Join(base, "tree")
	for _, d := range []string{outside, treeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "victim.txt"), []byte("orig\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// ktest apply --tree refuses what is not a kernel tree: give it the
	// files that make one.
	for name, content := range map[string]string{
		"f.txt": "a\n", "Makefile": "VERSION = 6\nPATCHLEVEL = 1\n", "Kconfig": "\n", "arch/x86/Kconfig": "\n", "scripts/kconfig/Makefile": "\n",
	} {
		p := filepath.Join(treeDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(treeDir, "link")); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(outside, "absolute.txt")
	diffs := []struct{ name, text, reason string }{
		{"dotdot", "diff --git a/../outside/dotdot.txt b/../outside/dotdot.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../outside/dotdot.txt\n@@ -0,0 +1 @@\n+escaped\n", "'..'"},
		{"dotdot inside a path", "--- a/sub/../../outside/victim.txt\n+++ b/sub/../../outside/victim.txt\n@@ -1 +1 @@\n-orig\n+pwned\n", "'..'"},
		{"absolute", "--- /dev/null\n+++ " + abs + "\n@@ -0,0 +1 @@\n+escaped\n", "absolute"},
		{"through a symlink", "--- a/link/victim.txt\n+++ b/link/victim.txt\n@@ -1 +1 @@\n-orig\n+pwned\n", "symlink"},
	}
	for _, d := range diffs {
		patch := filepath.Join(base, strings.ReplaceAll(d.name, " ", "-")+".diff")
		if err := os.WriteFile(patch, []byte(d.text), 0o644); err != nil {
			t.Fatal(err)
		}
		modes := map[string][]string{
			"dry run":  {"apply", "--tree", treeDir, patch},
			"worktree": {"apply", "--tree", treeDir, "--out", filepath.Join(base, "wt"), patch},
			"in place": {"apply", "--tree", treeDir, "--in-place", patch},
		}
		// ../ and absolute paths against the default tree as well.
		if d.name != "through a symlink" {
			modes["default tree"] = []string{"apply", patch}
		}
		for mode, args := range modes {
			t.Run(d.name+"/"+mode, func(t *testing.T) {
				// --out makes its copy of the tree before applying and
				// removes it on failure: only what remains counts.
				before := snapshotEntries(t, base)
				code, _, stderr := runKtest(t, time.Minute, procOpts{}, args...)
				if code != 2 {
					t.Errorf("exit %d, want 2\n%s", code, stderr)
				}
				if !strings.Contains(stderr, "unsafe path") || !strings.Contains(stderr, d.reason) {
					t.Errorf("message does not say unsafe path (%s):\n%s", d.reason, stderr)
				}
				if diff := diffStates(before, snapshotEntries(t, base)); len(diff) > 0 {
					t.Errorf("files changed:\n  %s", strings.Join(diff, "\n  "))
				}
				if mode == "default tree" {
					// Next to the default tree, where "../outside" points.
					escaped := filepath.Join(filepath.Dir(tree(t).Dir), "outside")
					if _, err := os.Lstat(escaped); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s exists after the apply (%v)", escaped, err)
					}
				}
			})
		}
	}
}
