package controller

import (
	"fmt"
	"strconv"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// pin reads the rollback annotation: the revision the Application is held
// at, or nil when it is not pinned. The pin is resolved once, from history,
// and kept in status, so that the entry scrolling out of history later does
// not undo it.
func pin(app *flotillav1.Application) (*flotillav1.Pin, error) {
	raw, ok := app.Annotations[flotillav1.RollbackAnnotation]
	if !ok {
		return nil, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return nil, &engine.Error{Reason: flotillav1.ReasonInvalidSpec, Stalled: true,
			Err: fmt.Errorf("annotation %s: %q is not a history id", flotillav1.RollbackAnnotation, raw)}
	}
	if p := app.Status.Pin; p != nil && p.HistoryID == id {
		return p, nil
	}
	for _, h := range app.Status.History {
		if h.ID == id {
			return &flotillav1.Pin{HistoryID: id, Revision: h.Revision, Since: nowTime()}, nil
		}
	}
	return nil, &engine.Error{Reason: flotillav1.ReasonInvalidSpec, Stalled: true,
		Err: fmt.Errorf("annotation %s: no history entry %d (status.history holds the last %d syncs)", flotillav1.RollbackAnnotation, id, historyLimit)}
}
