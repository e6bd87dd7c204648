package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// pollInterval is how often an Application is read when the server's
// stream cannot be used.
const pollInterval = 2 * time.Second

// check looks at an Application's latest state: done ends the wait, an
// error fails it.
type check func(app *flotillav1.Application) (done bool, err error)

// errTimeout marks a wait that ran out of time.
var errTimeout = errors.New("timed out")

// watchApp calls fn with each new state of one Application until fn is done
// or fails, or timeout passes. It follows /api/v1/stream and falls back to
// reading the Application every few seconds when the stream is not served
// or breaks.
func watchApp(ctx context.Context, c *apiclient.Client, ns, name string, timeout time.Duration, fn check) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	var done bool
	var checkErr error
	streamErr := c.Stream(ctx, "applications", apiclient.ListOptions{Namespace: ns, Search: name},
		func(ev apiclient.StreamEvent) (bool, error) {
			if ev.Kind != "Application" || ev.Type == wire.StreamResync {
				return false, nil
			}
			var app flotillav1.Application
			if err := json.Unmarshal(ev.Object, &app); err != nil || app.Name != name || app.Namespace != ns {
				return false, nil
			}
			if ev.Type == wire.StreamDeleted {
				checkErr = fmt.Errorf("application %s/%s was deleted", ns, name)
				return true, nil
			}
			done, checkErr = fn(&app)
			return done || checkErr != nil, nil
		})
	switch {
	case checkErr != nil:
		return checkErr
	case done:
		return nil
	case streamErr != nil && !errors.Is(streamErr, context.Canceled) && !errors.Is(streamErr, context.DeadlineExceeded) && !isStreamFailure(streamErr):
		return streamErr
	}
	return pollApp(ctx, c, ns, name, timeout, fn)
}

// isStreamFailure says whether the stream failed in a way that reading the
// Application can make up for.
func isStreamFailure(err error) bool {
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		return apiErr.Code == wire.CodeNotFound || apiErr.Code == wire.CodeUnavailable || apiErr.Code == wire.CodeInternal
	}
	return true // a broken connection
}

func pollApp(ctx context.Context, c *apiclient.Client, ns, name string, timeout time.Duration, fn check) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return waitEnded(ctx, timeout)
		}
		app, err := c.GetApplication(ctx, ns, name)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if done, err := fn(app); done || err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return waitEnded(ctx, timeout)
		case <-t.C:
		}
	}
}

func waitEnded(ctx context.Context, timeout time.Duration) error {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return fmt.Errorf("%w after %s", errTimeout, timeout)
	}
	return ctx.Err()
}

// progress prints a line each time an Application's state changes.
type progress struct {
	w    io.Writer
	last string
}

func (p *progress) show(app *flotillav1.Application) {
	st := app.Status
	line := fmt.Sprintf("%s: sync %s at %s, health %s", app.Name, orDash(string(st.Sync.Status)),
		shortRevision(st.Sync.Revision), orDash(string(st.Health.Status)))
	if op := st.Operation; op != nil {
		line += ", operation " + string(op.Phase)
		if op.Phase != flotillav1.OperationSucceeded && op.Message != "" {
			line += ": " + oneLine(op.Message)
		}
	}
	if line != p.last {
		fmt.Fprintln(p.w, line)
		p.last = line
	}
}

// stalled is the error of an Application the controller cannot move on
// without a change from the user.
func stalled(app *flotillav1.Application) error {
	c := meta.FindStatusCondition(app.Status.Conditions, flotillav1.ConditionStalled)
	if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration >= app.Generation {
		return fmt.Errorf("application %s/%s is stalled (%s): %s", app.Namespace, app.Name, c.Reason, oneLine(c.Message))
	}
	return nil
}

// waitGoal is what `app wait` waits for.
type waitGoal struct {
	sync, health, operation bool
}

func (g waitGoal) reached(app *flotillav1.Application) (bool, error) {
	if err := stalled(app); err != nil {
		return false, err
	}
	st := app.Status
	if g.sync && (st.Sync.Status != flotillav1.SyncStatusSynced || st.ObservedGeneration < app.Generation) {
		return false, nil
	}
	if g.health && st.Health.Status != flotillav1.HealthHealthy {
		return false, nil
	}
	if g.operation && st.Operation != nil && st.Operation.Phase == flotillav1.OperationRunning {
		return false, nil
	}
	return true, nil
}
