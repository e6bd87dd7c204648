package cluster

import (
	"slices"
	"testing"
)

// TestAgentRoleNeverGrantsEveryName: a kind with no names is left out of
// the Role, since an empty resourceNames would grant every object.
func TestAgentRoleNeverGrantsEveryName(t *testing.T) {
	role := AgentRole("flotilla-system", "edge", AgentGrants{Applications: []string{"b", "a", "b"}})
	for _, r := range role.Rules {
		if len(r.ResourceNames) == 0 {
			t.Errorf("rule %v grants every name", r)
		}
		if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "projects") {
			t.Errorf("rule %v grants a kind no Application named", r)
		}
	}
	got := AgentGrantsOf(role)
	if !slices.Equal(got.Applications, []string{"a", "b"}) || len(got.Secrets) != 0 {
		t.Errorf("grants read back: %+v", got)
	}
}
