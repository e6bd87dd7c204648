package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// ConfigEnv names a config file to use instead of the one in the user's
// config folder.
const ConfigEnv = "FLOTILLA_CONFIG"

// maxConfigBytes bounds the config file read.
const maxConfigBytes = 1 << 20

// Config is the CLI's config file: the servers logged in to, as contexts.
type Config struct {
	CurrentContext string          `json:"currentContext,omitempty"`
	Contexts       []ServerContext `json:"contexts,omitempty"`
}

// ServerContext is one server and the session on it.
type ServerContext struct {
	Name                  string `json:"name"`
	Server                string `json:"server"`
	Username              string `json:"username,omitempty"`
	Token                 string `json:"token,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
	// CertificateAuthorityData is PEM of the server's CA.
	CertificateAuthorityData string `json:"certificateAuthorityData,omitempty"`
}

// configPath is $FLOTILLA_CONFIG, else flotilla/config.yaml in the user's
// config folder.
func configPath() (string, error) {
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config folder: %w (set %s to a file)", err, ConfigEnv)
	}
	return filepath.Join(dir, "flotilla", "config.yaml"), nil
}

// loadConfig reads the config file; a missing one is an empty config.
func loadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d KiB", path, maxConfigBytes>>10)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// saveConfig writes the config atomically: a temporary file of mode 0600 in
// the same folder (made 0700), synced, then renamed over the old one. The
// file holds session tokens, so no other user may read it at any moment.
func saveConfig(path string, c *Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config folder %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after a successful rename there is nothing left to remove
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// context answers the named context, or the current one for "".
func (c *Config) context(name string) (*ServerContext, error) {
	if name == "" {
		name = c.CurrentContext
	}
	if name == "" {
		return nil, errNotLoggedIn
	}
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i], nil
		}
	}
	return nil, fmt.Errorf("no context %q in the config; `flotilla context` lists them", name)
}

// errNotLoggedIn says no server is logged in to.
var errNotLoggedIn = errors.New("not logged in to a Flotilla server: run `flotilla login SERVER`")

// upsert replaces the context of that name, or adds it, and makes it current.
func (c *Config) upsert(sc ServerContext) {
	c.CurrentContext = sc.Name
	for i := range c.Contexts {
		if c.Contexts[i].Name == sc.Name {
			c.Contexts[i] = sc
			return
		}
	}
	c.Contexts = append(c.Contexts, sc)
	slices.SortFunc(c.Contexts, func(a, b ServerContext) int { return strings.Compare(a.Name, b.Name) })
}

// remove deletes a context; the current one becomes none.
func (c *Config) remove(name string) bool {
	n := len(c.Contexts)
	c.Contexts = slices.DeleteFunc(c.Contexts, func(sc ServerContext) bool { return sc.Name == name })
	if c.CurrentContext == name {
		c.CurrentContext = ""
	}
	return len(c.Contexts) < n
}
