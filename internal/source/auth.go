package source

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Credentials authenticate to a repository; the controller fills them from
// a Secret. Which fields count depends on the URL: Username and Password, or
// BearerToken, and CACert for https; SSHPrivateKey and KnownHosts for ssh.
// The others are ignored, so one Secret can serve both kinds of URL.
type Credentials struct {
	// Username and Password are sent as HTTP basic authentication.
	Username, Password string
	// BearerToken is sent as `Authorization: Bearer <token>`; it excludes
	// Username and Password.
	BearerToken string
	// SSHPrivateKey is an unencrypted private key in PEM or OpenSSH form.
	SSHPrivateKey []byte
	// KnownHosts holds known_hosts lines for the ssh server; ssh is refused
	// without it rather than trusting whatever host key the server shows.
	KnownHosts []byte
	// CACert holds PEM certificates trusted for https instead of the
	// system's.
	CACert []byte
}

// auth is what one git command gets from the credentials: environment
// variables and private files, and the secrets to scrub from its output.
// Credentials never reach git's command line, a URL or a repository's
// configuration, where other processes or later commands could read them.
type auth struct {
	env     []string
	secrets []string
	dir     string
	// sshCommand is the ssh command line for GIT_SSH_COMMAND, to which
	// each git command adds the address it pinned (see pin).
	sshCommand string
}

// cleanup removes the credential files.
func (a *auth) cleanup() {
	if a != nil && a.dir != "" {
		_ = os.RemoveAll(a.dir)
	}
}

// newAuth prepares the credentials for one git command on r. Call cleanup
// when the command is done.
func (c *Client) newAuth(r remote, creds *Credentials) (*auth, error) {
	switch r.scheme {
	case schemeSSH:
		return c.sshAuth(creds)
	case schemeHTTPS, schemeHTTP:
		return c.httpAuth(r, creds)
	default:
		return &auth{}, nil
	}
}

// httpCredential is the kind of HTTP authentication credentials ask for.
type httpCredential int

const (
	noCredential httpCredential = iota
	basicCredential
	bearerCredential
)

// httpCredential checks creds (nil: none) for an Authorization header to a
// server reached over scheme, and says which kind they hold. Every HTTP
// client of this package (git, Helm repositories, OCI registries, cosign)
// takes them by this rule.
func (creds *Credentials) httpCredential(scheme string) (httpCredential, error) {
	if creds == nil {
		return noCredential, nil
	}
	basic := creds.Username != "" || creds.Password != ""
	bearer := creds.BearerToken != ""
	switch {
	case basic && bearer:
		return 0, credentialsError("both a bearer token and a username or password given; use one")
	case (basic || bearer) && scheme == schemeHTTP:
		return 0, credentialsError("refusing to send credentials over plain http; use https")
	case strings.ContainsAny(creds.Username+creds.Password+creds.BearerToken, "\r\n\x00"):
		return 0, credentialsError("a credential contains a line break or NUL")
	case basic:
		return basicCredential, nil
	case bearer:
		return bearerCredential, nil
	}
	return noCredential, nil
}

// credentialSecrets are the forms of creds (nil: none) that must appear in
// no error or log: the password, the basic authentication header's value,
// the bearer token.
func credentialSecrets(creds *Credentials) []string {
	var s []string
	if creds == nil {
		return nil
	}
	if creds.Password != "" {
		s = append(s, creds.Password, base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)))
	}
	if creds.BearerToken != "" {
		s = append(s, creds.BearerToken)
	}
	return s
}

func (c *Client) httpAuth(r remote, creds *Credentials) (*auth, error) {
	a := &auth{}
	kind, err := creds.httpCredential(r.scheme)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return a, nil
	}
	var header string
	switch kind {
	case basicCredential:
		header = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password))
	case bearerCredential:
		header = "Authorization: Bearer " + creds.BearerToken
	}
	a.secrets = credentialSecrets(creds)
	var config [][2]string
	if header != "" {
		// Scoped to the repository's origin: git sends it to no other host.
		config = append(config, [2]string{"http." + r.origin + ".extraHeader", header})
	}
	if len(creds.CACert) > 0 && r.scheme == schemeHTTPS {
		file, err := a.writeFile(c.tmp, "ca.pem", creds.CACert)
		if err != nil {
			a.cleanup()
			return nil, err
		}
		config = append(config, [2]string{"http." + r.origin + ".sslCAInfo", file})
	}
	// GIT_CONFIG_COUNT passes configuration through the environment, which
	// no other user can read, unlike a command line.
	a.env = append(a.env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, kv := range config {
		a.env = append(a.env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return a, nil
}

func (c *Client) sshAuth(creds *Credentials) (*auth, error) {
	if creds == nil || len(creds.KnownHosts) == 0 {
		return nil, credentialsError("ssh needs known_hosts; refusing to trust an unknown host key")
	}
	if !validKnownHosts(creds.KnownHosts) {
		return nil, credentialsError("known_hosts has no valid line")
	}
	if len(creds.SSHPrivateKey) == 0 {
		return nil, credentialsError("ssh needs a private key")
	}
	if _, err := ssh.ParseRawPrivateKey(creds.SSHPrivateKey); err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, credentialsError("the ssh private key is encrypted; give an unencrypted key")
		}
		// The parser's message is not repeated: it could quote the key.
		return nil, credentialsError("the ssh private key does not parse")
	}
	a := &auth{}
	key := creds.SSHPrivateKey
	if key[len(key)-1] != '\n' {
		key = append(key[:len(key):len(key)], '\n') // ssh refuses a key without it
	}
	keyFile, err := a.writeFile(c.tmp, "id", key)
	if err != nil {
		a.cleanup()
		return nil, err
	}
	hostsFile, err := a.writeFile(c.tmp, "known_hosts", creds.KnownHosts)
	if err != nil {
		a.cleanup()
		return nil, err
	}
	command := strings.Join([]string{
		shellQuote(c.opts.SSH), "-F", os.DevNull,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityFile=" + shellQuote(keyFile),
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + shellQuote(hostsFile),
		"-o", "GlobalKnownHostsFile=" + os.DevNull, "-o", "UpdateHostKeys=no",
		"-o", "BatchMode=yes", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
		"-o", "ForwardAgent=no", "-o", "ClearAllForwardings=yes", "-o", "ControlMaster=no",
		"-o", "ProxyCommand=none", "-o", "PermitLocalCommand=no",
	}, " ")
	a.sshCommand = command
	a.env = append(a.env, "GIT_SSH_VARIANT=ssh")
	return a, nil
}

// writeFile writes data to a new 0600 file in the auth's private folder,
// made on first use in parent.
func (a *auth) writeFile(parent, name string, data []byte) (string, error) {
	if a.dir == "" {
		dir, err := os.MkdirTemp(parent, "auth-")
		if err != nil {
			return "", &Error{Kind: ErrGit, Detail: "cannot make a folder for credential files", cause: err}
		}
		a.dir = dir
	}
	p := filepath.Join(a.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", &Error{Kind: ErrGit, Detail: "cannot write a credential file", cause: err}
	}
	return p, nil
}

// validKnownHosts reports whether data holds at least one known_hosts line
// that parses.
func validKnownHosts(data []byte) bool {
	for line := range strings.Lines(string(data)) {
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(line)); err == nil {
			return true
		}
	}
	return false
}

// shellQuote quotes s for the shell that runs GIT_SSH_COMMAND.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func credentialsError(detail string) error {
	return &Error{Kind: ErrCredentials, Detail: detail}
}
