package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/sopstest"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// sopsPlain is the decrypted value: it must reach the cluster's Secret and
// nothing else.
const sopsPlain = "sops-plain-Rk84qLw2"

// TestSOPSSecret: a SOPS-encrypted Secret in Git lands decrypted in the
// cluster; drift on it is healed; with the wrong key the Application fails
// with DecryptionFailed. The plain value is found in no log, Event,
// Application status or spec of the hub.
func TestSOPSSecret(t *testing.T) {
	ns := harness.TestNamespace(t)
	identity, recipient := sopstest.NewAgeKey(t)
	wrongIdentity, _ := sopstest.NewAgeKey(t)
	env.CreateSecret(t, "sops-age", map[string][]byte{"identity.agekey": []byte(identity + "\n")})
	env.CreateSecret(t, "sops-age-wrong", map[string][]byte{"identity.agekey": []byte(wrongIdentity + "\n")})

	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "secrets")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{
		"deploy/db.json":     sopstest.Secret(t, "db", map[string]string{"password": sopsPlain}, recipient),
		"deploy/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-config\ndata:\n  host: db.internal\n",
	})

	spec := harness.PlainApp(srv.URL("secrets"), "deploy", ns)
	spec.SyncPolicy.Automated.SelfHeal = true
	spec.Source.Decryption = &flotillav1.Decryption{Provider: "sops", SecretRef: flotillav1.LocalObjectReference{Name: "sops-age"}}
	newApp(t, "sops-db", spec)
	env.WaitApp(t, "sops-db", time.Minute, "Synced", harness.Synced)
	if got := secretValue(t, ns, "db", "password"); got != sopsPlain {
		t.Fatalf("Secret db password %q, want the decrypted value", got)
	}

	// Drift on the Secret: healed, and the heal reports no value.
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, &s); err != nil {
		t.Fatal(err)
	}
	s.Data["password"] = []byte("changed-by-hand")
	if err := env.Client.Update(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var now corev1.Secret
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &now)
		return err == nil && string(now.Data["password"]) == sopsPlain, nil
	})
	if err != nil {
		t.Fatalf("the Secret's drift was not healed: %v", err)
	}

	// The wrong key: refused, naming the file and the recipient.
	wrong := harness.PlainApp(srv.URL("secrets"), "deploy", ns+"-wrong")
	wrong.Source.Decryption = &flotillav1.Decryption{Provider: "sops", SecretRef: flotillav1.LocalObjectReference{Name: "sops-age-wrong"}}
	newApp(t, "sops-db-wrong", wrong)
	app := env.WaitApp(t, "sops-db-wrong", time.Minute, "refused", harness.FailedWith(flotillav1.ReasonDecryptionFailed))
	if c := harness.ReadyCondition(app); !strings.Contains(c.Message, "db.json") || !strings.Contains(c.Message, recipient) {
		t.Errorf("condition %q should name the file and its recipient", c.Message)
	}
	assertAbsent(t, ns+"-wrong", "db-config")

	assertNowhere(t, sopsPlain)
	if strings.Contains(env.ControllerLog(), identity) || strings.Contains(env.ControllerLog(), wrongIdentity) {
		t.Errorf("the controller's log holds an age private key")
	}
}

// secretValue reads one key of a Secret of the hub.
func secretValue(t *testing.T, ns, name, key string) string {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("Secret %s/%s: %v", ns, name, err)
	}
	return string(s.Data[key])
}

// assertNowhere fails if value appears in the controller's log, in any
// Event of the hub, or in any Application (spec and status) as the API
// serves it.
func assertNowhere(t *testing.T, value string) {
	t.Helper()
	if strings.Contains(env.ControllerLog(), value) {
		t.Errorf("the controller's log holds the decrypted value")
	}
	var events eventsv1.EventList
	if err := env.Client.List(context.Background(), &events); err != nil {
		t.Fatal(err)
	}
	var coreEvents corev1.EventList
	if err := env.Client.List(context.Background(), &coreEvents); err != nil {
		t.Fatal(err)
	}
	var apps flotillav1.ApplicationList
	if err := env.Client.List(context.Background(), &apps); err != nil {
		t.Fatal(err)
	}
	for what, obj := range map[string]any{"Events": &events, "core Events": &coreEvents, "Applications": &apps} {
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), value) {
			t.Errorf("the hub's %s hold the decrypted value", what)
		}
	}
}
