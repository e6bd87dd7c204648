package source_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/source"
)

// canary is a password planted in credentials; it must never show up in an
// error.
const canary = "canary-Pa55w0rd-7c1f"

// newClient returns a Client with a private cache folder, closed when the
// test ends. edit, if not nil, changes the options first.
func newClient(t *testing.T, edit func(*source.Options)) *source.Client {
	t.Helper()
	opts := source.DefaultOptions()
	opts.CacheDir = t.TempDir()
	opts.ResolveTimeout = 30 * time.Second
	opts.FetchTimeout = 30 * time.Second
	opts.AllowLoopback = true // the test servers listen on loopback
	if edit != nil {
		edit(&opts)
	}
	c, err := source.New(opts)
	if err != nil {
		t.Fatalf("source.New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fetch fetches req and fails the test on error; the artifact is released
// when the test ends.
func fetch(t *testing.T, c *source.Client, req source.GitRequest) *source.Artifact {
	t.Helper()
	art, err := c.Fetch(testContext(t), req)
	if err != nil {
		t.Fatalf("Fetch(%s, %q): %v", req.URL, req.Revision, err)
	}
	t.Cleanup(art.Release)
	return art
}

// wantError checks that err is of kind want and carries no secret.
func wantError(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	var e *source.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *source.Error", err)
	}
	noSecrets(t, err.Error())
	t.Logf("as expected: %v", err)
}

// noSecrets fails if s holds the canary or its base64 forms.
func noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{canary, "Pa55w0rd", "Y2FuYXJ5LVBhNTV3MHJk", "YWxpY2U6Y2FuYXJ5LVBhNTV3MHJkLTdjMWY"} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q holds a secret (%s)", s, secret)
		}
	}
}

// readTree returns path → content of the regular files below dir, and
// path → "-> target" for symbolic links.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			files[filepath.ToSlash(rel)] = "-> " + target
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return files
}

// stalledServer returns a server, plain or TLS, that answers no request
// before the test ends: whatever the client or the connection does, it
// never sees a response, so its only way out is its own time limit.
func stalledServer(t *testing.T, useTLS bool) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close) // runs last: Close waits for the handlers
	t.Cleanup(func() { close(release) })
	return srv
}
