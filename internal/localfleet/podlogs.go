package localfleet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Pod logs: kwok plays the kubelet of the cluster's node, and the
// kube-apiserver reads a pod's log (GET pods/log, kubectl logs) from it.
// kwok serves every container of every pod the content of one file,
// written in the container runtime's log format; the containers named in
// LogContainers each read a file of their own, so that a test can tell
// them apart. Tests append lines with AppendPodLog; a follow sees lines
// appended after it started.

// LogContainers are the container names whose pods' logs come from a file
// of their own (PodLogFile); every other container reads the default one.
var LogContainers = []string{"sidecar"}

const podLogsDir = "pod-logs"

// PodLogFile is the file the logs of container (of any pod of the cluster)
// are read from: its own for a name in LogContainers, the default one for
// any other name.
func (c *Cluster) PodLogFile(container string) string {
	name := "default"
	if slices.Contains(LogContainers, container) {
		name = container
	}
	return filepath.Join(c.Dir, podLogsDir, name+".log")
}

// AppendPodLog appends lines to the log of container, as written to
// stdout at t, one log entry per line.
func (c *Cluster) AppendPodLog(container string, t time.Time, lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s stdout F %s\n", t.UTC().Format(time.RFC3339Nano), l)
	}
	f, err := os.OpenFile(c.PodLogFile(container), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (c *Cluster) podLogsConfig() string { return filepath.Join(c.Dir, "kwok-logs.yaml") }

// writePodLogs makes the empty log files and kwok's ClusterLogs that serves
// them, with follow on.
func (c *Cluster) writePodLogs() error {
	if err := os.MkdirAll(filepath.Join(c.Dir, podLogsDir), 0o700); err != nil {
		return err
	}
	follow := true
	type log struct {
		Containers []string `json:"containers,omitempty"`
		LogsFile   string   `json:"logsFile"`
		Follow     *bool    `json:"follow"`
	}
	var logs []log
	for _, name := range append(slices.Clone(LogContainers), "") {
		l := log{LogsFile: c.PodLogFile(name), Follow: &follow}
		if name != "" {
			l.Containers = []string{name}
		}
		logs = append(logs, l)
		if err := os.WriteFile(l.LogsFile, nil, 0o600); err != nil {
			return err
		}
	}
	doc, err := yaml.Marshal(map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "ClusterLogs",
		"metadata":   map[string]any{"name": "pod-logs"},
		"spec":       map[string]any{"logs": logs},
	})
	if err != nil {
		return err
	}
	return os.WriteFile(c.podLogsConfig(), doc, 0o600)
}
