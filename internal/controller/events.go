package controller

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// maxEventNote is the API server's limit on an Event's note (message), in
// bytes: a longer one is refused, and the Event is lost.
const maxEventNote = 1024

// eventChanges is how many changed objects a sync's Event names before it
// only counts the rest.
const eventChanges = 5

// syncedNote is the note of a sync that changed the cluster: the revision,
// the counts per action, and the first few changed objects, within
// maxEventNote however many objects changed. status.resources and the log
// hold the full list.
func syncedNote(res *engine.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %s: %s", engine.ShortSHA(res.Revision), res.Changes.Summary())
	var changed []apply.Change
	for _, c := range res.Changes.Changes {
		if c.Action != apply.ActionUnchanged {
			changed = append(changed, c)
		}
	}
	for i, c := range changed {
		if i == eventChanges {
			fmt.Fprintf(&b, "\n… and %d more", len(changed)-i)
			break
		}
		b.WriteString("\n" + c.String())
	}
	return limitNote(b.String())
}

// limitNote cuts s to maxEventNote bytes, ellipsis included, on a rune
// boundary.
func limitNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	const ellipsis = "…"
	cut := maxEventNote - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// warningsNote is the note of a render's warnings: the revision, then one
// warning a line, within maxEventNote.
func warningsNote(res *engine.Result) string {
	return limitNote(fmt.Sprintf("revision %s:\n%s", engine.ShortSHA(res.Revision), strings.Join(res.Warnings, "\n")))
}
