package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// LogOptions choose a Pod's log.
type LogOptions struct {
	Namespace string
	Pod       string
	Container string
	// TailLines is how many lines from the end; 0 means the server's
	// default.
	TailLines int64
	Since     time.Duration
	Follow    bool
}

// Logs copies a Pod's log to w until it ends, the server's bound is
// reached, or ctx is done.
func (c *Client) Logs(ctx context.Context, namespace, name string, opts LogOptions, w io.Writer) error {
	q := url.Values{"namespace": {opts.Namespace}, "pod": {opts.Pod}}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	if opts.TailLines > 0 {
		q.Set("tailLines", strconv.FormatInt(opts.TailLines, 10))
	}
	if opts.Since > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(int64(opts.Since.Seconds()), 10))
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	r := request{method: http.MethodGet, path: objectPath("applications", namespace, name) + "/logs", query: q,
		stream: opts.Follow, accept: "text/plain"}
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer cancel()
	defer func() { _ = resp.Body.Close() }()
	// The server bounds the log in bytes and time; the client trusts that
	// only as far as its own bound.
	if _, err := io.Copy(w, io.LimitReader(resp.Body, MaxBodyBytes)); err != nil && ctx.Err() == nil {
		return fmt.Errorf("log of pod %s/%s: %w", opts.Namespace, opts.Pod, err)
	}
	return nil
}

// StreamEvent is one server-sent event of /api/v1/stream.
type StreamEvent struct {
	ID   string
	Type string // ADDED, MODIFIED, DELETED or RESYNC
	wire.StreamEvent
}

// maxEventBytes bounds one event of the stream.
const maxEventBytes = 8 << 20

// Stream reads /api/v1/stream of kinds (like "applications") with the list
// filters of opts, calling fn for each event until ctx is done, the server
// ends the stream, or fn answers an error or stop.
func (c *Client) Stream(ctx context.Context, kinds string, opts ListOptions, fn func(StreamEvent) (stop bool, err error)) error {
	q := opts.query()
	q.Set("kinds", kinds)
	r := request{method: http.MethodGet, path: "/api/v1/stream", query: q, stream: true, accept: "text/event-stream"}
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer cancel()
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxEventBytes)
	var ev StreamEvent
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Type == "" && data.Len() == 0 {
				continue
			}
			if data.Len() > 0 {
				if err := json.Unmarshal([]byte(data.String()), &ev.StreamEvent); err != nil {
					return fmt.Errorf("stream: event %s is not what Flotilla sends: %w", ev.ID, err)
				}
			}
			if stop, err := fn(ev); stop || err != nil {
				return err
			}
			ev = StreamEvent{}
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "event:"):
			ev.Type = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(line[5:], " "))
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("stream: %w", err)
	}
	return ctx.Err()
}
