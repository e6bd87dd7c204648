package server

import (
	"context"
	"errors"
	"net/http"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// LiveReader serves the Live routes with a *live.Reader, its errors given
// the codes of their classes.
func LiveReader(r *live.Reader) Live { return liveReader{r: r} }

type liveReader struct{ r *live.Reader }

func (l liveReader) Tree(ctx context.Context, app *flotillav1.Application) (*wire.Tree, error) {
	t, err := l.r.Tree(ctx, app)
	return t, liveCode(err)
}

func (l liveReader) Resource(ctx context.Context, app *flotillav1.Application, ref wire.ObjectRef) (any, error) {
	obj, err := l.r.Resource(ctx, app, ref)
	if err != nil {
		return nil, liveCode(err)
	}
	return obj.Object, nil
}

func (l liveReader) Diff(ctx context.Context, app *flotillav1.Application, revision string) (*wire.Diff, error) {
	d, err := l.r.Diff(ctx, app, revision)
	return d, liveCode(err)
}

func (l liveReader) Events(ctx context.Context, app *flotillav1.Application, ref *wire.ObjectRef) ([]wire.Event, error) {
	ev, err := l.r.Events(ctx, app, ref)
	return ev, liveCode(err)
}

// Logs answers text/plain; once the log streams, an error can only end it.
func (l liveReader) Logs(ctx context.Context, app *flotillav1.Application, opts LogOptions, w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	err := l.r.Logs(ctx, app, live.LogOptions{
		Namespace: opts.Namespace, Pod: opts.Pod, Container: opts.Container,
		TailLines: opts.TailLines, SinceSeconds: opts.SinceSeconds, Follow: opts.Follow,
	}, w)
	return liveCode(err)
}

// liveCode gives a live error its code. The messages of package live name
// objects and causes, never a Secret's value.
func liveCode(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, live.ErrNotFound):
		return &apiError{Code: wire.CodeNotFound, Message: err.Error()}
	case errors.Is(err, live.ErrBadRequest):
		return &apiError{Code: wire.CodeBadRequest, Message: err.Error()}
	case errors.Is(err, live.ErrAgentMode):
		return &apiError{Code: wire.CodeUnavailable, Message: err.Error()}
	case errors.Is(err, live.ErrUnavailable):
		return &apiError{Code: wire.CodeUnavailable, Message: err.Error(), Err: err}
	}
	return err
}
