package controller

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestClusterStatusNeedsPatch: a look that found nothing new writes only
// when the recorded heartbeat is older than clusterHeartbeatMaxAge.
func TestClusterStatusNeedsPatch(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	at := func(ago time.Duration) metav1.Time { return metav1.NewTime(now.Add(-ago)) }
	// seen is a Cluster last seen ago, with apps Applications.
	seen := func(ago time.Duration, apps int32) *flotillav1.Cluster {
		c := &flotillav1.Cluster{}
		setClusterStatus(c, "v1.37.2", nil, apps, at(ago))
		return c
	}
	// look is what a look now makes of old.
	look := func(old *flotillav1.Cluster, err error, apps int32) *flotillav1.Cluster {
		c := old.DeepCopy()
		setClusterStatus(c, "v1.37.2", err, apps, now)
		return c
	}
	unreachable, refused := errors.New("unreachable"), errors.New("refused")
	lost := look(seen(time.Hour, 1), unreachable, 1)
	for _, tc := range []struct {
		name     string
		old, cur *flotillav1.Cluster
		want     bool
	}{
		{"first look", &flotillav1.Cluster{}, look(&flotillav1.Cluster{}, nil, 0), true},
		{"heartbeat 30s old", seen(30*time.Second, 1), look(seen(30*time.Second, 1), nil, 1), false},
		{"heartbeat 119s old", seen(119*time.Second, 1), look(seen(119*time.Second, 1), nil, 1), false},
		{"heartbeat 2m old", seen(2*time.Minute, 1), look(seen(2*time.Minute, 1), nil, 1), true},
		{"applications changed", seen(30*time.Second, 1), look(seen(30*time.Second, 1), nil, 2), true},
		{"became unreachable", seen(30*time.Second, 1), look(seen(30*time.Second, 1), unreachable, 1), true},
		{"still unreachable", lost, look(lost, unreachable, 1), false},
		{"unreachable for another reason", lost, look(lost, refused, 1), true},
		{"reachable again", lost, look(lost, nil, 1), true},
	} {
		if got := clusterStatusNeedsPatch(&tc.old.Status, &tc.cur.Status, now.Time); got != tc.want {
			t.Errorf("%s: needs patch = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSetClusterStatusUnreachable: an unreachable cluster keeps its last
// known version and heartbeat, and says why in Ready.
func TestSetClusterStatusUnreachable(t *testing.T) {
	seenAt := metav1.NewTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	c := &flotillav1.Cluster{}
	setClusterStatus(c, "v1.37.2", nil, 3, seenAt)
	setClusterStatus(c, "", errors.New("cluster x: unreachable at https://x: connection refused"), 3, metav1.NewTime(seenAt.Add(time.Minute)))
	st := c.Status
	if st.Connected || st.KubernetesVersion != "v1.37.2" || !st.LastHeartbeat.Equal(&seenAt) || st.Applications != 3 {
		t.Errorf("status = %+v, want disconnected with the last version and heartbeat", st)
	}
	if len(st.Conditions) != 1 {
		t.Fatalf("conditions = %+v, want Ready only", st.Conditions)
	}
	ready := st.Conditions[0]
	if ready.Type != flotillav1.ConditionReady || ready.Status != metav1.ConditionFalse ||
		ready.Reason != flotillav1.ReasonClusterUnavailable || ready.Message != "cluster x: unreachable at https://x: connection refused" {
		t.Errorf("Ready = %+v", ready)
	}
}
