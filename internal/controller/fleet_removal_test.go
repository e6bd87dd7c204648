package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// TestCheckRemoval: by default a Fleet removes neither all of its
// Applications nor more than half of four or more at once; maxRemoval,
// allowMassRemoval or a confirmation lets more through.
func TestCheckRemoval(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	count := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	tests := []struct {
		name          string
		rollout       *flotillav1.Rollout
		remove, total int
		confirmed     bool
		refused       bool
	}{
		{"nothing to remove", nil, 0, 3, false, false},
		{"one of two", nil, 1, 2, false, false},
		{"the only one", nil, 1, 1, false, true},
		{"all of three", nil, 3, 3, false, true},
		{"two of four is half", nil, 2, 4, false, false},
		{"three of four is over half", nil, 3, 4, false, true},
		{"two of three: fewer than four", nil, 2, 3, false, false},
		{"all, confirmed", nil, 3, 3, true, false},
		{"all, allowed", &flotillav1.Rollout{AllowMassRemoval: true}, 3, 3, false, false},
		{"over maxRemoval count", &flotillav1.Rollout{MaxRemoval: count(1)}, 2, 10, false, true},
		{"within maxRemoval percent", &flotillav1.Rollout{MaxRemoval: pct("30%")}, 3, 10, false, false},
		{"over maxRemoval percent", &flotillav1.Rollout{MaxRemoval: pct("30%")}, 4, 10, false, true},
		{"maxRemoval 100% allows all", &flotillav1.Rollout{MaxRemoval: pct("100%")}, 5, 5, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flotillav1.Fleet{Spec: flotillav1.FleetSpec{Rollout: tt.rollout}}
			names := make([]string, tt.remove)
			for i := range names {
				names[i] = string(rune('a' + i))
			}
			err := checkRemoval(f, names, tt.total, tt.confirmed)
			refused := engine.ReasonOf(err, "") == flotillav1.ReasonMassRemovalRefused
			if refused != tt.refused || (err != nil && !refused) {
				t.Errorf("checkRemoval(remove %d of %d) = %v, want refused=%v", tt.remove, tt.total, err, tt.refused)
			}
		})
	}
}

// TestTakeRemovalToken: a confirmation is taken once.
func TestTakeRemovalToken(t *testing.T) {
	f := &flotillav1.Fleet{}
	f.Annotations = map[string]string{flotillav1.ConfirmRemovalAnnotation: "1"}
	if !takeRemovalToken(f) {
		t.Fatal("a new token was not taken")
	}
	if takeRemovalToken(f) {
		t.Error("a token was taken twice")
	}
}
