package localfleet

import (
	"strings"
	"testing"
)

// TestCountAuditSkipsPartialLine: the audit log is read while the API
// server writes it; a last line cut short is not an error and not a count.
func TestCountAuditSkipsPartialLine(t *testing.T) {
	const agent = "counted/"
	write := `{"requestURI":"/api/v1/namespaces/a/configmaps","userAgent":"counted/v1"}`
	dry := `{"requestURI":"/api/v1/namespaces/a/configmaps?dryRun=All","userAgent":"counted/v1"}`
	other := `{"requestURI":"/api/v1/namespaces/a/configmaps","userAgent":"flotilla/v1"}`
	log := strings.Join([]string{write, dry, other, dry}, "\n") + "\n"
	for name, tc := range map[string]struct {
		log  string
		want AuditCounts
	}{
		"whole":           {log, AuditCounts{Writes: 1, DryRuns: 2}},
		"partial last":    {log + write[:len(write)/2], AuditCounts{Writes: 1, DryRuns: 2}},
		"partial only":    {write[:10], AuditCounts{}},
		"whole, no break": {log + write, AuditCounts{Writes: 1, DryRuns: 2}},
	} {
		got, err := countAudit(strings.NewReader(tc.log), agent)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
	if _, err := countAudit(strings.NewReader("{not json\n"+write+"\n"), agent); err == nil {
		t.Error("a broken whole line: no error")
	}
}
