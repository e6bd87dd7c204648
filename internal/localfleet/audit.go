package localfleet

import (
	"bufio"
	"encoding/json"
	"fmt"
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

// CountWrites counts the write requests in the cluster's audit log that a
// client sent whose user agent starts with userAgentPrefix (client-go's
// default is the program's name and "/"); dry-runs are not writes and are
// left out.
func (c *Cluster) CountWrites(userAgentPrefix string) (int, error) {
	f, err := os.Open(c.AuditLog())
	if err != nil {
		return 0, fmt.Errorf("cluster %s: audit log (started without AuditWrites?): %w", c.Name, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxAuditLine)
	n := 0
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return 0, fmt.Errorf("cluster %s: audit log: %w", c.Name, err)
		}
		if strings.HasPrefix(ev.UserAgent, userAgentPrefix) && !strings.Contains(ev.RequestURI, "dryRun=") {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("cluster %s: audit log: %w", c.Name, err)
	}
	return n, nil
}
