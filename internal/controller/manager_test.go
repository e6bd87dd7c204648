package controller

import (
	"testing"

	"k8s.io/client-go/rest"
)

// TestHubConfigLeavesFlowControlToTheServer: a hub configuration without
// limits gets no client-side throttle (client-go's default would be 5
// requests a second), while limits a user set are kept, and the caller's
// configuration is not changed.
func TestHubConfigLeavesFlowControlToTheServer(t *testing.T) {
	plain := &rest.Config{Host: "https://hub.example"}
	got := hubConfig(plain)
	if got.QPS >= 0 || got.Burst != 0 {
		t.Errorf("a configuration without limits got QPS %v, burst %d; want no client-side limit", got.QPS, got.Burst)
	}
	if plain.QPS != 0 {
		t.Errorf("the caller's configuration was changed: QPS %v", plain.QPS)
	}
	set := &rest.Config{Host: "https://hub.example", QPS: 30, Burst: 60}
	if got := hubConfig(set); got.QPS != 30 || got.Burst != 60 {
		t.Errorf("limits set by the user became QPS %v, burst %d", got.QPS, got.Burst)
	}
}
