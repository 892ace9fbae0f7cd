package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os/exec"
	"strings"

	"github.com/ktest-dev/ktest/report"
)

// errNoIdentity explains how to give ktest a sender identity.
var errNoIdentity = errors.New(`no sender identity: pass --from "Name <you@example.org>" or set git config user.name and user.email`)

// identity is who signs ktest's reports: from ("Name <addr>") if given,
// else git's user.name and user.email as seen from the current
// directory (its repository's config, else the global one). nil, nil
// when neither says: ktest never makes an address up.
func identity(ctx context.Context, from string) (*mail.Address, error) {
	if from != "" {
		a, err := report.ParseIdentity(from)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		return a, nil
	}
	email := gitConfig(ctx, "user.email")
	if email == "" {
		return nil, nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return nil, fmt.Errorf("git config user.email %q is not a plain address", email)
	}
	a.Name = gitConfig(ctx, "user.name")
	return a, nil
}

// gitConfig returns a git config value, "" if it is unset or git is
// missing.
func gitConfig(ctx context.Context, key string) string {
	out, err := exec.CommandContext(ctx, "git", "config", "--get", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
