package proto

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Guest image layout and agent contract. The initramfs builder puts files
// where these say, the agent reads them from there, and the host client
// formats its requests with the helpers below.
const (
	// AgentName is argv[0] of the agent and the first word of every
	// agent-internal exec command ("ktest-agent put ...").
	AgentName = "ktest-agent"
	// AgentPath is where the agent binary lives in the guest image; the
	// u-root init runs it as uinit.
	AgentPath = "/bin/ktest-agent"
	// ReadtestPath is where ktest-readtest lives in the guest image.
	ReadtestPath = "/bin/ktest-readtest"
	// AgentPort is the guest TCP port the SSH server listens on.
	AgentPort = 22
	// AgentHostKeyPath holds the agent's OpenSSH-format private host key.
	AgentHostKeyPath = "/etc/ktest/ssh_host_ed25519_key"
	// AgentAuthorizedKeyPath holds the single client public key allowed in,
	// in authorized_keys format.
	AgentAuthorizedKeyPath = "/etc/ktest/authorized_key"
	// AgentReadyLine is printed on the console once the SSH server listens.
	AgentReadyLine = "ktest-agent: ready on :22"
)

// Agent-internal commands. An exec request whose first word is AgentName is
// served by the agent itself rather than a shell, so file copies and
// power-off need neither sftp nor any binary in the image. The same words
// work as command-line arguments of the agent binary.
const (
	// CmdPut reads stdin into PATH atomically (temp file + rename) and
	// sets MODE (octal): "ktest-agent put PATH MODE".
	CmdPut = "put"
	// CmdGet writes the regular file PATH to stdout: "ktest-agent get PATH".
	CmdGet = "get"
	// CmdPowerOff syncs, unmounts and powers the guest off after the exit
	// status of the request has been sent: "ktest-agent poweroff". The VM
	// must run with -no-reboot: kernels without ACPI power-off are
	// restarted instead, which makes QEMU exit.
	CmdPowerOff = "poweroff"
)

// PutCommand is the exec command that stores stdin at path with mode.
func PutCommand(path string, mode fs.FileMode) string {
	return FormatCommand(AgentName, CmdPut, path, fmt.Sprintf("%04o", uint32(mode.Perm())))
}

// GetCommand is the exec command that streams the file at path to stdout.
func GetCommand(path string) string {
	return FormatCommand(AgentName, CmdGet, path)
}

// PowerOffCommand is the exec command that powers the guest off.
func PowerOffCommand() string {
	return FormatCommand(AgentName, CmdPowerOff)
}

// ParseMode parses the octal MODE word of a put command.
func ParseMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("bad mode %q: want octal permission bits like 0644", s)
	}
	return fs.FileMode(v), nil
}

// FormatCommand joins words into a POSIX shell command line, single-quoting
// every word that is not made only of safe characters. The result runs the
// same through /bin/sh and through SplitCommand.
func FormatCommand(words ...string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = Quote(w)
	}
	return strings.Join(quoted, " ")
}

// Quote returns s quoted for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isSafe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("@%+=:,./_-", r)
}

// SplitCommand splits a command line into words. It understands blanks,
// single quotes and backslash escapes outside quotes: the subset
// FormatCommand produces. Anything else a shell would treat specially
// ($, ", `, ;, |, &, <, >, globs) makes it fail, so callers fall back to a
// real shell instead of guessing.
func SplitCommand(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		inQuote bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\'' {
				inQuote = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			inQuote, inWord = true, true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("split %q: trailing backslash", s)
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("$\"`;|&<>(){}*?[]~#", c) >= 0:
			return nil, fmt.Errorf("split %q: shell syntax %q at offset %d", s, c, i)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("split %q: unterminated single quote", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
