package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfigFileMode checks that the config file, which holds session
// tokens, is written 0600 in a 0700 folder, atomically, and reads back.
func TestConfigFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flotilla")
	path := filepath.Join(dir, "config.yaml")
	cfg := &Config{}
	cfg.upsert(ServerContext{Name: "b", Server: "https://b.example.com", Token: "tok-b"})
	cfg.upsert(ServerContext{Name: "a", Server: "https://a.example.com", Token: "tok-a", Username: "admin"})
	if err := saveConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	// A file that existed with a looser mode is replaced by a 0600 one.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files, want only config.yaml (no temporary file left)", len(entries))
	}
	got, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if got.CurrentContext != "a" || got.Contexts[0].Name != "a" {
		t.Errorf("current %q, first %q: want the last login current and contexts sorted", got.CurrentContext, got.Contexts[0].Name)
	}
}

func TestConfigRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxConfigBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(big); err == nil {
		t.Error("a config larger than the bound was read")
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("contexts: []\ntokne: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(unknown); err == nil {
		t.Error("a config with an unknown field was read")
	}
	missing, err := loadConfig(filepath.Join(dir, "none.yaml"))
	if err != nil || len(missing.Contexts) != 0 {
		t.Errorf("a missing config: %v, %+v; want an empty one", err, missing)
	}
}
