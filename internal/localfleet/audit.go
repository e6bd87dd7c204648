package localfleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const fileAuditPolicy = "audit-policy.yaml"

// auditPolicy records write requests only, once each (when the response is
// complete), at Metadata level: who, which user agent, which URI (dry-runs
// carry dryRun=All there), which object and the response code; never a body.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// AuditLog is the path of the cluster's audit log, one JSON event per line;
// it exists only when the fleet was started with Options.AuditWrites.
func (c *Cluster) AuditLog() string { return filepath.Join(c.Dir, "logs", "audit.log") }

func (c *Cluster) writeAuditPolicy() error {
	if !c.Audit {
		return nil
	}
	return os.WriteFile(filepath.Join(c.Dir, fileAuditPolicy), []byte(auditPolicy), 0o600)
}

func (c *Cluster) auditArgs() []string {
	if !c.Audit {
		return nil
	}
	return []string{
		"--audit-policy-file=" + filepath.Join(c.Dir, fileAuditPolicy),
		"--audit-log-path=" + c.AuditLog(),
		"--audit-log-format=json",
		// One file however long the run: a benchmark reads it whole.
		"--audit-log-maxsize=0",
	}
}

// auditEvent is the part of an audit event that CountWrites reads.
type auditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
}

// maxAuditLine bounds one event of the audit log; Metadata-level events are
// well below it.
const maxAuditLine = 1 << 20

// AuditCounts are the requests of one client in an audit log: writes, and
// dry-runs (which write nothing but prove the client reached the cluster).
type AuditCounts struct{ Writes, DryRuns int }

// CountWrites counts the write requests in the cluster's audit log that a
// client sent whose user agent starts with userAgentPrefix (client-go's
// default is the program's name and "/"); dry-runs are not writes and are
// left out.
func (c *Cluster) CountWrites(userAgentPrefix string) (int, error) {
	n, err := c.CountRequests(userAgentPrefix)
	return n.Writes, err
}

// CountRequests counts the writes and dry-runs in the cluster's audit log
// of the clients whose user agent starts with userAgentPrefix. The API
// server may be writing an event as the log is read: a last line without
// its newline is not counted yet.
func (c *Cluster) CountRequests(userAgentPrefix string) (AuditCounts, error) {
	f, err := os.Open(c.AuditLog())
	if err != nil {
		return AuditCounts{}, fmt.Errorf("cluster %s: audit log (started without AuditWrites?): %w", c.Name, err)
	}
	defer func() { _ = f.Close() }()
	n, err := countAudit(f, userAgentPrefix)
	if err != nil {
		return AuditCounts{}, fmt.Errorf("cluster %s: audit log: %w", c.Name, err)
	}
	return n, nil
}

func countAudit(r io.Reader, userAgentPrefix string) (AuditCounts, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxAuditLine)
	sc.Split(completeLines)
	var n AuditCounts
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return AuditCounts{}, err
		}
		switch {
		case !strings.HasPrefix(ev.UserAgent, userAgentPrefix):
		case strings.Contains(ev.RequestURI, "dryRun="):
			n.DryRuns++
		default:
			n.Writes++
		}
	}
	return n, sc.Err()
}

// completeLines splits at newlines, as bufio.ScanLines, but drops what
// follows the last newline: an event the API server has not finished.
func completeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}
