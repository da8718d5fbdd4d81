package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/webui"
)

// maxSecretFile bounds the file of --oidc-client-secret-file.
const maxSecretFile = 4096

// oidcOptions are the flags of violet serve that turn on single sign-on
// in the web UI. The client secret is read from a file: a flag's value
// shows in the process list.
type oidcOptions struct {
	issuer, clientID, secretFile, redirectURL, userClaim string
	createUsers                                          bool
}

func (o *oidcOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.issuer, "oidc-issuer", "", "offer single sign-on in the web UI with the OpenID Connect provider at `URL` (its issuer)")
	f.StringVar(&o.clientID, "oidc-client-id", "", "with --oidc-issuer: the web UI's client `ID` at the provider")
	f.StringVar(&o.secretFile, "oidc-client-secret-file", "", "with --oidc-issuer: read the client secret from `FILE` (none for a public client)")
	f.StringVar(&o.redirectURL, "oidc-redirect-url", "", "with --oidc-issuer: the `URL` of /ui/oidc/callback as browsers reach it (registered at the provider)")
	f.StringVar(&o.userClaim, "oidc-user-claim", "email", "with --oidc-issuer: the ID token `CLAIM` whose value is the user's login (email must be verified)")
	f.BoolVar(&o.createUsers, "oidc-create-users", false, "with --oidc-issuer: create a user (with no team and no role) at the first sign-on of an unknown login, instead of refusing it")
}

// config returns the single sign-on configuration of the flags, nil when
// --oidc-issuer is not given.
func (o *oidcOptions) config(f *pflag.FlagSet) (*webui.OIDCConfig, error) {
	if o.issuer == "" {
		for _, name := range []string{"oidc-client-id", "oidc-client-secret-file", "oidc-redirect-url", "oidc-user-claim", "oidc-create-users"} {
			if f.Changed(name) {
				return nil, fmt.Errorf("--%s needs --oidc-issuer", name)
			}
		}
		return nil, nil
	}
	if o.clientID == "" || o.redirectURL == "" {
		return nil, errors.New("--oidc-issuer needs --oidc-client-id and --oidc-redirect-url")
	}
	c := &webui.OIDCConfig{Issuer: o.issuer, ClientID: o.clientID, RedirectURL: o.redirectURL, UserClaim: o.userClaim,
		CreateUsers: o.createUsers}
	if o.secretFile != "" {
		secret, err := readSecretFile(o.secretFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		c.ClientSecret = secret
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// readSecretFile reads a secret from a file of at most maxSecretFile
// bytes, without its trailing newline.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s: longer than %d bytes", path, maxSecretFile)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
