package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/internal/ociserver"
	"github.com/flotilla-dev/flotilla/internal/signtest"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// greetingManifests is a plain folder with one ConfigMap whose greeting is
// the given word.
func greetingManifests(word string) map[string]string {
	return map[string]string{
		"deploy/greeting.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  word: " + word + "\n",
	}
}

// ociApp is an Application of the folder deploy of an OCI artifact.
func ociApp(url, revision, ns, secret string) flotillav1.ApplicationSpec {
	spec := harness.PlainApp(url, "deploy", ns)
	spec.Source.TargetRevision = revision
	spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: secret}
	return spec
}

// registry starts a registry with basic auth and the Secret to reach it.
func registry(t *testing.T, secret string) *ociserver.Server {
	t.Helper()
	reg := ociserver.New(t, ociserver.Options{Username: "puller", Password: harness.CanaryPassword})
	env.CreateSecret(t, secret, map[string][]byte{
		"username": []byte("puller"), "password": []byte(harness.CanaryPassword), "caCert": reg.CACert(),
	})
	return reg
}

// TestOCIArtifact: an artifact in the format `flux push artifact` writes,
// asked by a semver range, syncs; a newer tag in the range is picked up and
// applied.
func TestOCIArtifact(t *testing.T) {
	ns := harness.TestNamespace(t)
	reg := registry(t, "oci-artifact-creds")
	first := reg.PushArtifact(t, "apps/greeting", "v1.0.0", greetingManifests("hello"))
	reg.PushArtifact(t, "apps/greeting", "v2.0.0", greetingManifests("outside-the-range"))
	newApp(t, "oci-greeting", ociApp(reg.URL("apps/greeting"), "^1.0.0", ns, "oci-artifact-creds"))
	env.WaitApp(t, "oci-greeting", time.Minute, "Synced at v1.0.0", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == "v1.0.0@"+first
	})
	if v := configMapValue(t, ns, "greeting", "word"); v != "hello" {
		t.Fatalf("word %q, want hello", v)
	}
	second := reg.PushArtifact(t, "apps/greeting", "v1.1.0", greetingManifests("bonjour"))
	env.WaitApp(t, "oci-greeting", time.Minute, "Synced at the new tag v1.1.0", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == "v1.1.0@"+second
	})
	if v := configMapValue(t, ns, "greeting", "word"); v != "bonjour" {
		t.Errorf("word %q, want bonjour from v1.1.0", v)
	}

	// A rollback to the first history entry fetches v1.0.0 by its digest.
	app := env.WaitApp(t, "oci-greeting", time.Minute, "two history entries", func(a *flotillav1.Application) bool {
		return len(a.Status.History) >= 2
	})
	annotate(t, "oci-greeting", map[string]string{flotillav1.RollbackAnnotation: strconv.FormatInt(app.Status.History[0].ID, 10)})
	env.WaitApp(t, "oci-greeting", time.Minute, "rolled back to v1.0.0", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Pin != nil && a.Status.Sync.Revision == "v1.0.0@"+first
	})
	if v := configMapValue(t, ns, "greeting", "word"); v != "hello" {
		t.Errorf("word %q after the rollback, want hello from v1.0.0", v)
	}
}

// TestCosignVerification: a signed artifact syncs; the same content
// unsigned, or signed by another key, is refused with VerificationFailed;
// a later unsigned tag is refused and the verified revision stays applied.
func TestCosignVerification(t *testing.T) {
	ns := harness.TestNamespace(t)
	reg := registry(t, "cosign-creds")
	trusted, trustedPub := signtest.NewCosignKey(t)
	other, _ := signtest.NewCosignKey(t)
	env.CreateSecret(t, "cosign-keys", map[string][]byte{"cosign.pub": trustedPub})

	signed := reg.PushArtifact(t, "apps/signed", "v1.0.0", greetingManifests("signed"))
	push := signtest.Registry{Host: reg.Host(), CACert: reg.CACert(), Username: "puller", Password: harness.CanaryPassword}
	signtest.CosignSign(t, push, "apps/signed", signed, trusted)
	reg.PushArtifact(t, "apps/unsigned", "v1.0.0", greetingManifests("signed"))
	foreign := reg.PushArtifact(t, "apps/foreign", "v1.0.0", greetingManifests("signed"))
	signtest.CosignSign(t, push, "apps/foreign", foreign, other)

	verify := &flotillav1.Verification{Provider: "cosign", SecretRef: flotillav1.LocalObjectReference{Name: "cosign-keys"}}
	for _, repo := range []string{"signed", "unsigned", "foreign"} {
		spec := ociApp(reg.URL("apps/"+repo), "^1.0.0", ns+"-"+repo, "cosign-creds")
		spec.Source.Verify = verify
		newApp(t, "cosign-"+repo, spec)
	}
	env.WaitApp(t, "cosign-signed", time.Minute, "Synced", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == "v1.0.0@"+signed
	})
	for _, repo := range []string{"unsigned", "foreign"} {
		app := env.WaitApp(t, "cosign-"+repo, time.Minute, "refused", harness.FailedWith(flotillav1.ReasonVerificationFailed))
		if c := harness.ReadyCondition(app); !strings.Contains(c.Message, "signature") {
			t.Errorf("cosign-%s: condition %q does not say what is wrong with the signature", repo, c.Message)
		}
		assertAbsent(t, ns+"-"+repo, "greeting")
	}

	// A new tag in the range, not signed: refused; v1.0.0 stays.
	reg.PushArtifact(t, "apps/signed", "v1.1.0", greetingManifests("tampered"))
	app := env.WaitApp(t, "cosign-signed", time.Minute, "the unsigned v1.1.0 refused", harness.FailedWith(flotillav1.ReasonVerificationFailed))
	if len(app.Status.History) == 0 || app.Status.History[len(app.Status.History)-1].Revision != "v1.0.0@"+signed {
		t.Errorf("history %+v, want the verified v1.0.0 last", app.Status.History)
	}
	if v := configMapValue(t, ns+"-signed", "greeting", "word"); v != "signed" {
		t.Errorf("word %q: the unsigned revision was applied", v)
	}
}

// TestCosignKeyless: an artifact signed keylessly (a certificate from a
// trusted CA, a Rekor bundle) by the trusted identity syncs; one signed by
// another identity is refused with VerificationFailed.
func TestCosignKeyless(t *testing.T) {
	ns := harness.TestNamespace(t)
	reg := registry(t, "keyless-creds")
	ca, log := signtest.NewCosignCA(t), signtest.NewRekorLog(t)
	env.CreateSecret(t, "keyless-trust", map[string][]byte{
		"fulcio.crt": append(append([]byte{}, ca.IntermediatePEM...), ca.RootPEM...), "rekor.pub": log.PubPEM,
		"identity.issuer": []byte("https://issuer.example.com\n"), "identity.subject": []byte(".*@example.com\n"),
	})
	push := signtest.Registry{Host: reg.Host(), CACert: reg.CACert(), Username: "puller", Password: harness.CanaryPassword}
	for _, who := range []string{"alice@example.com", "mallory@example.org"} {
		user, _, _ := strings.Cut(who, "@")
		digest := reg.PushArtifact(t, "apps/"+user, "v1.0.0", greetingManifests("signed"))
		signtest.CosignSignKeyless(t, push, "apps/"+user, digest,
			signtest.Keyless{CA: ca, Issuer: "https://issuer.example.com", Subject: who, Log: log})
		spec := ociApp(reg.URL("apps/"+user), "^1.0.0", ns+"-"+user, "keyless-creds")
		spec.Source.Verify = &flotillav1.Verification{Provider: "cosign", SecretRef: flotillav1.LocalObjectReference{Name: "keyless-trust"}}
		newApp(t, "keyless-"+user, spec)
	}
	env.WaitApp(t, "keyless-alice", time.Minute, "Synced", harness.Synced)
	app := env.WaitApp(t, "keyless-mallory", time.Minute, "refused", harness.FailedWith(flotillav1.ReasonVerificationFailed))
	if c := harness.ReadyCondition(app); !strings.Contains(c.Message, "mallory@example.org") {
		t.Errorf("condition %q does not name the certificate's identity", c.Message)
	} else {
		t.Logf("refused as expected: %s", c.Message)
	}
	assertAbsent(t, ns+"-mallory", "greeting")
}

// TestGitCommitSignatures: commits signed with a trusted SSH key, or GPG
// key, sync; a later unsigned commit is refused and the signed one stays.
func TestGitCommitSignatures(t *testing.T) {
	sshSign, sshPub := signtest.NewSSHSigner(t)
	gpgSign, gpgPub := signtest.NewGPGSigner(t)
	env.CreateSecret(t, "git-ssh-keys", map[string][]byte{"deployer.pub": sshPub})
	env.CreateSecret(t, "git-gpg-keys", map[string][]byte{"deployer.asc": gpgPub})
	for _, tc := range []struct {
		provider string
		sign     func([]byte) []byte
		secret   string
	}{
		{"ssh", sshSign, "git-ssh-keys"},
		{"gpg", gpgSign, "git-gpg-keys"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			ns := harness.TestNamespace(t)
			root := t.TempDir()
			repo := gitserver.NewRepo(t, root, "signed")
			srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
			good := repo.CommitSigned("main", greetingManifests("signed"), tc.sign)
			name := "git-signed-" + tc.provider
			spec := harness.PlainApp(srv.URL("signed"), "deploy", ns)
			spec.Source.Verify = &flotillav1.Verification{Provider: tc.provider, SecretRef: flotillav1.LocalObjectReference{Name: tc.secret}}
			newApp(t, name, spec)
			env.WaitApp(t, name, time.Minute, "Synced at the signed commit", func(a *flotillav1.Application) bool {
				return harness.Synced(a) && a.Status.Sync.Revision == good
			})
			bad := repo.Commit("main", greetingManifests("unsigned"))
			app := env.WaitApp(t, name, time.Minute, "the unsigned commit refused", harness.FailedWith(flotillav1.ReasonVerificationFailed))
			if c := harness.ReadyCondition(app); !strings.Contains(c.Message, bad[:7]) || !strings.Contains(c.Message, "not signed") {
				t.Errorf("condition %q should name commit %s as not signed", c.Message, bad[:7])
			}
			if v := configMapValue(t, ns, "greeting", "word"); v != "signed" {
				t.Errorf("word %q: the unsigned commit was applied", v)
			}
		})
	}

	// cosign cannot verify a git commit: a mistake in the spec, Stalled
	// until the spec changes.
	root := t.TempDir()
	gitserver.NewRepo(t, root, "any").Commit("main", greetingManifests("any"))
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	spec := harness.PlainApp(srv.URL("any"), "deploy", harness.TestNamespace(t)+"-cosign")
	spec.Source.Verify = &flotillav1.Verification{Provider: "cosign", SecretRef: flotillav1.LocalObjectReference{Name: "git-ssh-keys"}}
	newApp(t, "git-verify-cosign", spec)
	app := env.WaitApp(t, "git-verify-cosign", time.Minute, "Stalled", harness.FailedWith(flotillav1.ReasonVerificationFailed))
	if !meta.IsStatusConditionTrue(app.Status.Conditions, flotillav1.ConditionStalled) {
		t.Errorf("a verify provider that cannot apply to git should stall the Application: %s", harness.StatusString(app))
	}
}

// TestHostileSources: an artifact with an entry outside its folder, one
// with more files than allowed, a chart archive with an absolute name and
// a Helm repository whose index is endless: each Application fails with a
// condition naming the cause and applies nothing, while a healthy
// Application of the same registry keeps taking new revisions.
func TestHostileSources(t *testing.T) {
	ns := harness.TestNamespace(t)
	reg := registry(t, "hostile-creds")
	reg.PushArtifact(t, "apps/good", "v1.0.0", greetingManifests("hello"))
	newApp(t, "hostile-good", ociApp(reg.URL("apps/good"), "^1.0.0", ns, "hostile-creds"))
	env.WaitApp(t, "hostile-good", time.Minute, "Synced", harness.Synced)

	many := map[string]string{}
	for i := range 10001 {
		many[fmt.Sprintf("deploy/f%05d.yaml", i)] = ""
	}
	layers := map[string][]byte{
		"traversal": helmserver.Archive(t, map[string]string{"deploy/ok.yaml": "", "deploy/../../escape.yaml": "x"}),
		"files":     helmserver.Archive(t, many),
	}
	for name, layer := range layers {
		reg.PushLayer(t, "apps/"+name, "v1.0.0", ociserver.FluxConfigMediaType, ociserver.FluxContentMediaType, layer)
		newApp(t, "hostile-"+name, ociApp(reg.URL("apps/"+name), "v1.0.0", ns+"-"+name, "hostile-creds"))
	}
	charts := helmserver.New(t, helmserver.Options{})
	charts.AddRawArchive("shop", "0.1.0", helmserver.Archive(t, map[string]string{"/etc/shop/Chart.yaml": "name: shop"}))
	env.CreateSecret(t, "hostile-chart-ca", map[string][]byte{"caCert": charts.CACert()})
	newApp(t, "hostile-chart", chartApp(charts.URL(), "0.1.0", ns+"-chart", "hostile-chart-ca"))
	endless := helmserver.New(t, helmserver.Options{})
	endless.SetIndex(endlessIndex(30000))
	env.CreateSecret(t, "hostile-index-ca", map[string][]byte{"caCert": endless.CACert()})
	newApp(t, "hostile-index", chartApp(endless.URL(), "0.1.0", ns+"-index", "hostile-index-ca"))

	for app, want := range map[string]string{
		"hostile-traversal": "unsafe archive",
		"hostile-files":     "unsafe archive",
		"hostile-chart":     "unsafe archive",
		"hostile-index":     "invalid Helm repository index",
	} {
		a := env.WaitApp(t, app, time.Minute, "refused", harness.FailedWith(flotillav1.ReasonFetchFailed))
		if c := harness.ReadyCondition(a); !strings.Contains(c.Message, want) {
			t.Errorf("%s: condition %q does not say %q", app, c.Message, want)
		}
		if len(a.Status.Resources) != 0 {
			t.Errorf("%s: owns %d objects, want none", app, len(a.Status.Resources))
		}
	}
	second := reg.PushArtifact(t, "apps/good", "v1.1.0", greetingManifests("still-serving"))
	env.WaitApp(t, "hostile-good", time.Minute, "Synced at v1.1.0 beside the hostile sources", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == "v1.1.0@"+second
	})
	if v := configMapValue(t, ns, "greeting", "word"); v != "still-serving" {
		t.Errorf("word %q, want still-serving", v)
	}
}

// endlessIndex is a Helm index of n charts, more than a repository may list.
func endlessIndex(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	for i := range n {
		fmt.Fprintf(&b, "  c%d:\n  - {name: c%d, version: 0.1.0, urls: [c.tgz]}\n", i, i)
	}
	return []byte(b.String())
}
