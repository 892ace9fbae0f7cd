package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Keys are the per-run SSH keys of one guest: the agent's host key (the
// client pins its public half) and the only client key the agent accepts.
type Keys struct {
	HostSigner   ssh.Signer // the agent's identity; only its PublicKey is used host-side
	ClientSigner ssh.Signer // what Dial authenticates with
	// HostPrivatePEM is HostSigner in OpenSSH PEM form, for the image
	// (proto.AgentHostKeyPath).
	HostPrivatePEM []byte
	// AuthorizedKey is ClientSigner's public key as one authorized_keys
	// line, for the image (proto.AgentAuthorizedKeyPath).
	AuthorizedKey []byte
	// ClientPrivatePEM is ClientSigner in OpenSSH PEM form, so another
	// process (ktest ssh, OpenSSH's ssh -i) can log in to the same guest.
	ClientPrivatePEM []byte
}

// GenerateKeys makes a fresh ed25519 host key and client key.
func GenerateKeys() (*Keys, error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	_, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, fmt.Errorf("host signer: %w", err)
	}
	clientSigner, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		return nil, fmt.Errorf("client signer: %w", err)
	}
	hostBlock, err := ssh.MarshalPrivateKey(hostPriv, "ktest guest host key")
	if err != nil {
		return nil, fmt.Errorf("marshal host key: %w", err)
	}
	clientBlock, err := ssh.MarshalPrivateKey(clientPriv, "ktest client key")
	if err != nil {
		return nil, fmt.Errorf("marshal client key: %w", err)
	}
	return &Keys{
		HostSigner:       hostSigner,
		ClientSigner:     clientSigner,
		HostPrivatePEM:   pem.EncodeToMemory(hostBlock),
		AuthorizedKey:    ssh.MarshalAuthorizedKey(clientSigner.PublicKey()),
		ClientPrivatePEM: pem.EncodeToMemory(clientBlock),
	}, nil
}
