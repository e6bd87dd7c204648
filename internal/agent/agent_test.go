package agent

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestReportWaitingForHub: a round that reached the hub but waits for its
// controller to catch up does not make the hub count as unreachable; a
// failure to reach it does, once, until a round succeeds.
func TestReportWaitingForHub(t *testing.T) {
	var logs bytes.Buffer
	m := &mirror{log: slog.New(slog.NewTextHandler(&logs, nil))}
	waiting := errors.Join(fmt.Errorf("application a: %w", errWaitingForHub), fmt.Errorf("application b: %w", errWaitingForHub))
	m.report(waiting)
	if m.offline || strings.Contains(logs.String(), "unreachable") {
		t.Errorf("waiting for the hub: offline %v, log %q; want online and no word of an unreachable hub", m.offline, logs.String())
	}
	m.report(errors.Join(waiting, errors.New("read the agent's Role: connection refused")))
	m.report(errors.New("read the agent's Role: connection refused"))
	if !m.offline || strings.Count(logs.String(), "hub unreachable") != 1 {
		t.Errorf("hub unreachable twice: offline %v, log %q; want offline, said once", m.offline, logs.String())
	}
	m.report(waiting)
	if m.offline || !strings.Contains(logs.String(), "hub reachable again") {
		t.Errorf("the hub answers, waiting: offline %v, log %q; want reachable again", m.offline, logs.String())
	}
}
