package webhook

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the SHA-1 form of GitHub's signature is tested
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// countingReader is a body of n bytes that counts what was read of it.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	clear(p[:n])
	r.left -= int64(n)
	r.read.Add(int64(n))
	return n, nil
}

// TestBodyBoundedBeforeRead: a 10 MB body is refused with 413; with its
// length declared nothing of it is read, without, no more than the bound.
// Neither reaches the Secret (the Handler has no hub to read it from).
func TestBodyBoundedBeforeRead(t *testing.T) {
	h := New(Options{})
	defer h.Close()
	mux := http.NewServeMux()
	h.Register(mux)
	const size = 10 << 20
	for _, declared := range []bool{true, false} {
		for _, path := range []string{"/api/webhook", "/api/webhook/oci"} {
			body := &countingReader{left: size}
			req := httptest.NewRequest(http.MethodPost, path, body)
			req.Header.Set("X-GitHub-Event", "push")
			req.ContentLength = -1
			if declared {
				req.ContentLength = size
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("%s declared=%v: status %d, want 413: %s", path, declared, rec.Code, rec.Body)
			}
			limit := int64(0)
			if !declared {
				limit = DefaultMaxBodyBytes + 1
			}
			if got := body.read.Load(); got > limit {
				t.Errorf("%s declared=%v: %d bytes read, want at most %d", path, declared, got, limit)
			}
		}
	}
}

func TestVerifySignatures(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"ref":"refs/heads/main"}`)
	mac := func(newHash func() hash.Hash) string {
		m := hmac.New(newHash, secret)
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	sig256, sig1 := mac(sha256.New), mac(sha1.New)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tt := range []struct {
		name string
		p    *provider
		h    http.Header
		ok   bool
	}{
		{"github sha256", &github, h("X-Hub-Signature-256", "sha256="+sig256), true},
		{"github sha1", &github, h("X-Hub-Signature", "sha1="+sig1), true},
		{"github sha256 wins over sha1", &github, h("X-Hub-Signature-256", "sha256="+sig1, "X-Hub-Signature", "sha1="+sig1), false},
		{"github no prefix", &github, h("X-Hub-Signature-256", sig256), false},
		{"github none", &github, h(), false},
		{"gitea", &gitea, h("X-Gitea-Signature", sig256), true},
		{"forgejo", &gitea, h("X-Forgejo-Signature", sig256), true},
		{"gitea wrong", &gitea, h("X-Gitea-Signature", sig1), false},
		{"gitlab", &gitlab, h("X-Gitlab-Token", "s3cret"), true},
		{"gitlab wrong", &gitlab, h("X-Gitlab-Token", "s3cret2"), false},
		{"bitbucket", &bitbucket, h("X-Hub-Signature", "sha256="+sig256), true},
		{"bitbucket not hex", &bitbucket, h("X-Hub-Signature", "sha256=zz"), false},
	} {
		err := tt.p.verify(tt.h, secret, body)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err := tt.p.verify(tt.h, nil, body); err == nil {
			t.Errorf("%s: accepted without a secret", tt.name)
		}
	}
}

// TestCoalescer: the first push of a repository flushes at once; the
// pushes that arrive while it runs become one more flush, with their refs
// merged; another repository is flushed on its own.
func TestCoalescer(t *testing.T) {
	var mu sync.Mutex
	flushed := map[string][]work{}
	release := make(chan struct{})
	started := make(chan string, 10)
	c := newCoalescer(1, func(key string, w work) {
		started <- key
		<-release
		mu.Lock()
		defer mu.Unlock()
		flushed[key] = append(flushed[key], w)
	})
	c.add("a", work{git: &push{branches: []string{"main"}}})
	<-started
	for i := range 1000 {
		c.add("a", work{git: &push{branches: []string{"main"}, tags: []string{[]string{"v1", "v2"}[i%2]}}})
	}
	c.add("b", work{git: &push{branches: []string{"dev"}}})
	<-started // b, while a's first flush runs
	release <- struct{}{}
	release <- struct{}{}
	<-started // a's second flush
	release <- struct{}{}
	c.close()
	if len(flushed["a"]) != 2 || len(flushed["b"]) != 1 {
		t.Fatalf("flushes: a %d, b %d; want 2 and 1", len(flushed["a"]), len(flushed["b"]))
	}
	merged := flushed["a"][1].git
	if !slices.Equal(merged.branches, []string{"main"}) || !slices.Equal(merged.tags, []string{"v1", "v2"}) {
		t.Errorf("the burst was not merged into one flush: %+v", merged)
	}
}
