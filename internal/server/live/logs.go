package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// LogOptions choose a Pod's log.
type LogOptions struct {
	Namespace string
	Pod       string
	// Container may be empty when the Pod has one container.
	Container string
	// TailLines, if set, starts that many lines before the end (0 to
	// Limits.MaxTailLines).
	TailLines *int64
	// SinceSeconds, if set and positive, starts that many seconds ago.
	SinceSeconds *int64
	// Follow keeps streaming new lines until the client leaves, the Pod's
	// log ends, or Limits.MaxFollow passes.
	Follow bool
}

// maxLine is the longest line masked as one; a longer line is cut into
// pieces of this size, each masked alone.
const maxLine = 64 << 10

// Logs streams the log of a Pod of the Application's tree to w, at most
// Limits.MaxLogBytes bytes, a followed log at most Limits.MaxFollow, with
// the values of the Application's Secrets masked line by line. A Pod that
// is not a node of the tree is ErrNotFound. When w is an http.Flusher, each
// line of a followed log is flushed as it comes.
func (r *Reader) Logs(ctx context.Context, app *flotillav1.Application, opts LogOptions, w io.Writer) error {
	if err := r.checkLogOptions(opts); err != nil {
		return err
	}
	c, err := r.target(ctx, app)
	if err != nil {
		return err
	}
	obj, err := r.node(ctx, c, app, wire.ObjectRef{Version: "v1", Kind: "Pod", Namespace: opts.Namespace, Name: opts.Pod})
	if err != nil {
		return err
	}
	container, err := pickContainer(obj.Object, opts.Container)
	if err != nil {
		return err
	}
	limit := r.opts.Limits.MaxLogBytes
	podOpts := &corev1.PodLogOptions{Container: container, Follow: opts.Follow, TailLines: opts.TailLines, LimitBytes: &limit}
	if opts.SinceSeconds != nil {
		podOpts.SinceSeconds = opts.SinceSeconds
	}
	red := r.redactor(ctx, c, app)
	timeout := r.opts.Limits.RequestTimeout
	if opts.Follow {
		timeout = r.opts.Limits.MaxFollow
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stream, err := c.Stream.CoreV1().Pods(opts.Namespace).GetLogs(opts.Pod, podOpts).Stream(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w: cluster %s: pod %s/%s: read the log: %w", ErrUnavailable, c.Name, opts.Namespace, opts.Pod, err)
	}
	defer func() { _ = stream.Close() }()
	err = copyMasked(w, io.LimitReader(stream, limit), red, opts.Follow)
	if err != nil && ctx.Err() != nil {
		// The follow reached its end of time, or the client left.
		return nil
	}
	return err
}

func (r *Reader) checkLogOptions(o LogOptions) error {
	switch {
	case o.Namespace == "" || o.Pod == "":
		return fmt.Errorf("%w: namespace and pod are required", ErrBadRequest)
	case o.TailLines != nil && (*o.TailLines < 0 || *o.TailLines > r.opts.Limits.MaxTailLines):
		return fmt.Errorf("%w: tailLines must be between 0 and %d", ErrBadRequest, r.opts.Limits.MaxTailLines)
	case o.SinceSeconds != nil && *o.SinceSeconds <= 0:
		return fmt.Errorf("%w: sinceSeconds must be positive", ErrBadRequest)
	}
	return nil
}

// pickContainer checks that name is a container of the pod (init and
// ephemeral ones too), or picks the only one when name is empty.
func pickContainer(pod map[string]any, name string) (string, error) {
	var names []string
	spec, _ := pod["spec"].(map[string]any)
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		list, _ := spec[field].([]any)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				if n, ok := m["name"].(string); ok {
					names = append(names, n)
				}
			}
		}
	}
	switch {
	case name != "" && slices.Contains(names, name):
		return name, nil
	case name != "":
		return "", fmt.Errorf("%w: the pod has no container %q (it has %s)", ErrBadRequest, name, strings.Join(names, ", "))
	case len(names) == 1:
		return names[0], nil
	}
	return "", fmt.Errorf("%w: the pod has several containers; name one of %s", ErrBadRequest, strings.Join(names, ", "))
}

// copyMasked copies src to w line by line, masked; flushing each line when
// follow is set and w can flush.
func copyMasked(w io.Writer, src io.Reader, red redactor, follow bool) error {
	br := bufio.NewReaderSize(src, maxLine)
	// A response writer wrapped by middleware flushes through its Unwrap,
	// which only a ResponseController follows.
	var flush func() error
	switch f := w.(type) {
	case http.ResponseWriter:
		flush = http.NewResponseController(f).Flush
	case http.Flusher:
		flush = func() error { f.Flush(); return nil }
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := io.WriteString(w, red.mask(string(line))); werr != nil {
				return werr
			}
			if follow && flush != nil {
				_ = flush() // a writer that cannot flush sends at its end
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
