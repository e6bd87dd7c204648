package localfleet

import (
	"os"
	"path/filepath"
)

// FailAnnotation, set to "true" on a pod (or on a Job's pod template),
// makes the cluster's fake node end the pod's containers with exit code 1
// once it runs, instead of 0: a Job of such pods fails, as one whose
// program fails would. Tests of what happens when a Job fails use it.
const FailAnnotation = "localfleet.flotilla.dev/fail"

// podFailStage is a kwok Stage that fails running pods carrying
// FailAnnotation. kwok's own pod-complete Stage (weight 0) matches the pods
// of Jobs too; among the Stages that match a pod, kwok picks only from
// those of positive weight, so this one wins for the pods it selects.
const podFailStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchAnnotations:
      ` + FailAnnotation + `: "true"
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
  weight: 1
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`

func (c *Cluster) podFailConfig() string { return filepath.Join(c.Dir, "kwok-pod-fail.yaml") }

// writePodFail writes the Stage that fails pods carrying FailAnnotation.
func (c *Cluster) writePodFail() error {
	return os.WriteFile(c.podFailConfig(), []byte(podFailStage), 0o600)
}
