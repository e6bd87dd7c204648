package project

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestCheckSecret(t *testing.T) {
	forA := map[string]string{flotillav1.ProjectLabel: "team-a"}
	forB := map[string]string{flotillav1.ProjectLabel: "team-b"}
	listed := mustCompile(t, project("team-a", flotillav1.ProjectSpec{Secrets: []string{"team-a-*", "!team-a-admin", "shared"}}))
	unlisted := mustCompile(t, project("team-a", flotillav1.ProjectSpec{}))
	builtin := mustCompile(t, nil)
	tests := []struct {
		name   string
		policy *Policy
		secret string
		labels map[string]string
		want   string
	}{
		{"labelled for the Project", unlisted, "repo-creds", forA, ""},
		{"unlabelled, no secrets field", unlisted, "repo-creds", nil,
			"project team-a: Secret repo-creds is neither in secrets nor labelled flotilla.dev/project=team-a"},
		{"labelled for another Project", unlisted, "repo-creds", forB,
			"project team-a: Secret repo-creds is neither in secrets nor labelled flotilla.dev/project=team-a"},
		{"listed by a glob", listed, "team-a-git", nil, ""},
		{"listed by name", listed, "shared", forB, ""},
		{"denied", listed, "team-a-admin", nil, "project team-a: Secret team-a-admin is denied by secrets[1]"},
		{"denied although labelled", listed, "team-a-admin", forA, "project team-a: Secret team-a-admin is denied by secrets[1]"},
		{"not listed", listed, "team-b-git", nil,
			"project team-a: Secret team-b-git is neither in secrets nor labelled flotilla.dev/project=team-a"},
		{"the built-in default allows any", builtin, "anything", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.CheckSecret(tt.secret, tt.labels)
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Errorf("CheckSecret(%s) (-want +got):\n%s", tt.secret, diff)
			}
			if err != nil && !errors.Is(err, ErrViolation) {
				t.Errorf("the error should wrap ErrViolation: %v", err)
			}
		})
	}
}

func TestCompileRefusesBrokenSecretPatterns(t *testing.T) {
	_, err := Compile(project("p", flotillav1.ProjectSpec{Secrets: []string{"ok", "", "a[b]"}}))
	want := `invalid project p: secrets[1]: "": invalid pattern: empty; secrets[2]: "a[b]": invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [)`
	if diff := cmp.Diff(want, errText(err)); diff != "" {
		t.Errorf("Compile (-want +got):\n%s", diff)
	}
}
