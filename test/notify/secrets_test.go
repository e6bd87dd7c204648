package notify

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// A Notification's Secret is read as a source's: a Project that does not
// allow it refuses it, and so is a Cluster's credentials whatever the
// Project; the refusal is in the Ready condition at once, without the
// Secret's data.
func TestSecretRules(t *testing.T) {
	project(t, "team-c", "")
	env.CreateSecret(t, "c-hmac", map[string][]byte{"hmacKey": []byte("c-secret-key")})
	c := createNotification(t, "team-c-hook", "team-c", "http://127.0.0.1:9/x", "c-hmac")
	if c.Status != metav1.ConditionFalse || c.Reason != flotillav1.ReasonProjectViolation || !strings.Contains(c.Message, "c-hmac") {
		t.Errorf("a Secret team-c does not allow: Ready=%s %s: %s", c.Status, c.Reason, c.Message)
	}
	env.CreateSecret(t, "kube-creds", map[string][]byte{"kubeconfig": []byte("apiVersion: v1\nkind: Config\n"), "hmacKey": []byte("k")})
	c = createNotification(t, "default-hook", flotillav1.DefaultProject, "http://127.0.0.1:9/x", "kube-creds")
	if c.Status != metav1.ConditionFalse || c.Reason != flotillav1.ReasonProjectViolation || !strings.Contains(c.Message, "kubeconfig") {
		t.Errorf("a Cluster's credentials: Ready=%s %s: %s", c.Status, c.Reason, c.Message)
	}
	if strings.Contains(c.Message, "apiVersion") || strings.Contains(c.Message, "c-secret-key") {
		t.Errorf("the condition holds Secret data: %s", c.Message)
	}
}
