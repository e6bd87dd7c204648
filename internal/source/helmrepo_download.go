package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// repoIndex returns the repository's index, read with the request's
// credentials or cached from a read with the same credentials.
func (c *Client) repoIndex(ctx context.Context, p *chartPrep) (*helmIndex, error) {
	ic := c.helmIndexCache()
	return ic.get(ctx, ic.key(p.repo.key, p.req.Credentials), func(ctx context.Context) (*helmIndex, error) {
		return c.downloadIndex(ctx, p)
	})
}

// downloadIndex reads and parses <repository>/index.yaml.
func (c *Client) downloadIndex(ctx context.Context, p *chartPrep) (*helmIndex, error) {
	start := time.Now()
	ctx, cancel := withTimeLimit(ctx, c.opts.ResolveTimeout)
	defer cancel()
	client, err := c.httpClient(p.req.Credentials)
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	resp, err := p.helmGet(ctx, client, p.repo.base.ResolveReference(&url.URL{Path: "index.yaml"}), ErrRepositoryNotFound)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ContentLength > maxIndexBytes {
		return nil, invalidIndex("index larger than %d bytes", maxIndexBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexBytes+1))
	if err != nil {
		return nil, readError(ctx, err)
	}
	select {
	case c.indexParses <- struct{}{}:
	case <-ctx.Done():
		return nil, readError(ctx, ctx.Err())
	}
	idx, err := parseIndex(data)
	<-c.indexParses
	if err != nil {
		return nil, err
	}
	c.opts.Logger.Debug("read Helm index", "url", p.repo.raw, "bytes", len(data),
		"charts", len(idx.entries), "versions", idx.versions, "duration", time.Since(start))
	return idx, nil
}

// hashChart downloads an archive only to learn its digest, for indexes
// that do not give it.
func (c *Client) hashChart(ctx context.Context, p *chartPrep, u *url.URL) (string, error) {
	ctx, cancel := withTimeLimit(ctx, c.opts.FetchTimeout)
	defer cancel()
	h := sha256.New()
	if err := c.downloadArchive(ctx, p, u, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// downloadChart is the cache fill of a chart: it downloads the archive into
// a staging folder, checks its digest, unpacks it, checks its shape and
// moves it to dir. Nothing of an archive whose digest differs from the
// index's is unpacked.
func (c *Client) downloadChart(ctx context.Context, p *chartPrep, u *url.URL, digest, dir string) (int64, error) {
	start := time.Now()
	ctx, cancel := withTimeLimit(ctx, c.opts.FetchTimeout)
	defer cancel()
	stage, err := os.MkdirTemp(c.tmp, "chart-")
	if err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot make a staging folder", cause: err}
	}
	defer func() { _ = os.RemoveAll(stage) }()
	archive, tree := filepath.Join(stage, "chart.tgz"), filepath.Join(stage, "tree")
	if err := c.saveArchive(ctx, p, u, archive, digest); err != nil {
		return 0, err
	}
	f, err := os.Open(archive)
	if err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot read the downloaded chart", cause: err}
	}
	defer func() { _ = f.Close() }()
	if err := os.Mkdir(tree, 0o700); err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot make a staging folder", cause: err}
	}
	lim := archiveLimits{MaxBytes: c.opts.MaxCheckoutBytes, MaxFiles: c.opts.MaxCheckoutFiles}
	if _, err := untarChart(f, tree, p.req.Chart, lim); err != nil {
		return 0, err
	}
	size, err := sealTree(tree, c.opts.MaxCheckoutBytes)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tree, dir); err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot move the chart into the cache", cause: err}
	}
	c.opts.Logger.Info("fetched", "url", p.repo.raw, "chart", p.req.Chart, "digest", "sha256:"+digest,
		"bytes", size, "duration", time.Since(start))
	return size, nil
}

// saveArchive downloads an archive to file and checks its digest.
func (c *Client) saveArchive(ctx context.Context, p *chartPrep, u *url.URL, file, digest string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &Error{Kind: ErrRegistry, Detail: "cannot write the downloaded chart", cause: err}
	}
	h := sha256.New()
	err = c.downloadArchive(ctx, p, u, io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &Error{Kind: ErrRegistry, Detail: "cannot write the downloaded chart", cause: cerr}
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return &Error{Kind: ErrRegistry, Detail: fmt.Sprintf("chart %s: the archive's digest sha256:%s is not sha256:%s, the index's; refusing it",
			p.req.Chart, got, digest)}
	}
	return nil
}

// downloadArchive copies a chart archive into w, up to MaxCheckoutBytes.
func (c *Client) downloadArchive(ctx context.Context, p *chartPrep, u *url.URL, w io.Writer) error {
	client, err := c.httpClient(p.req.Credentials)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	resp, err := p.helmGet(ctx, client, u, ErrRegistry)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return copyBounded(ctx, w, resp, c.opts.MaxCheckoutBytes)
}

// copyBounded copies a response body of at most max bytes.
func copyBounded(ctx context.Context, w io.Writer, resp *http.Response, max int64) error {
	tooLarge := &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the chart archive passes %d bytes", max)}
	if resp.ContentLength > max {
		return tooLarge
	}
	body := &recordingReader{r: io.LimitReader(resp.Body, max+1)}
	n, err := io.Copy(w, body)
	switch {
	case body.err != nil && body.err != io.EOF: //nolint:errorlint // io.Reader returns io.EOF itself
		return readError(ctx, body.err)
	case err != nil:
		return &Error{Kind: ErrRegistry, Detail: "cannot write the downloaded chart", cause: err}
	}
	if n > max {
		return tooLarge
	}
	return nil
}

// recordingReader keeps the last error of its reader, to tell a failed
// download from a failed write.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.err = err
	return n, err
}
