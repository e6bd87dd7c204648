package sopstest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/sopstest"
)

// TestSecretDecrypts: what Secret writes holds no plain value and renders
// back to the values with the identity, and not without it.
func TestSecretDecrypts(t *testing.T) {
	identity, recipient := sopstest.NewAgeKey(t)
	file := sopstest.Secret(t, "db", map[string]string{"password": "plain-Xk29"}, recipient)
	if strings.Contains(file, "plain-Xk29") {
		t.Fatalf("the encrypted file holds the plain value:\n%s", file)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "db.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	r := render.New(render.DefaultOptions())
	res, err := r.Render(context.Background(), render.Request{Root: root, Decryption: &render.Decryption{AgeKeys: []string{identity}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || res.Objects[0].GetName() != "db" {
		t.Fatalf("objects %v, want the Secret db", res.Objects)
	}
	if got := res.Objects[0].Object["stringData"].(map[string]any)["password"]; got != "plain-Xk29" {
		t.Errorf("password %v, want the plain value", got)
	}
	if _, err := r.Render(context.Background(), render.Request{Root: root}); err == nil {
		t.Errorf("rendered without the key")
	}
}
