package e2e

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestSyncToSecondCluster: an Application whose source is reached over SSH
// and whose destination is another cluster, through a Cluster object and a
// kubeconfig Secret, syncs there.
func TestSyncToSecondCluster(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	key, pub := gitserver.NewKey(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	commit := repo.Commit("main", guestbook(2, true))
	env.CreateSecret(t, "ssh-creds", map[string][]byte{"sshPrivateKey": key, "knownHosts": srv.KnownHosts()})

	env.CreateSecret(t, "cluster-dev-1", map[string][]byte{
		"kubeconfig": env.KubeconfigFor(t, "dev-1"),
	})
	c := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "dev-1", Namespace: flotillav1.DefaultNamespace},
		Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: "cluster-dev-1"}},
	}
	if err := env.Client.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })

	newApp(t, "remote", flotillav1.ApplicationSpec{
		Source: flotillav1.ApplicationSource{
			RepoURL: srv.URL("fleet"), TargetRevision: "main", Path: "apps/guestbook/overlays/dev",
			CredentialsRef: &flotillav1.LocalObjectReference{Name: "ssh-creds"},
		},
		Destination: flotillav1.Destination{Cluster: "dev-1", Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        harness.Interval(2 * time.Second),
		},
	})
	env.WaitApp(t, "remote", 2*time.Minute, "Synced on dev-1", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit
	})
	waitDeployment(t, env.Work, ns, "dev-guestbook", 2)
	var cm corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dev-guestbook"}, &cm); err == nil {
		t.Errorf("the ConfigMap landed in the hub too; it belongs only to dev-1")
	}
}
