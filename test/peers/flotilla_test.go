package peers

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

const configFlotilla = "flotilla"

// runFlotilla measures Flotilla's controller on a fresh cluster: one
// Application per folder, automated sync with prune, its own namespace.
func runFlotilla(b *testing.B) (sample, error) {
	ctx := context.Background()
	h, err := harness.Start(ctx, harness.Options{Bin: flotillaBin, Clusters: 1, AuditWrites: true})
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = h.Stop() }()
	scheme, err := controller.NewScheme()
	if err != nil {
		return sample{}, err
	}
	cl := fastClient(b, h.Config, client.Options{Scheme: scheme})
	root := b.TempDir()
	repo := gitserver.NewRepo(b, root, "fleet")
	commit := repo.Commit("main", repository(apps, false))
	srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})

	objs := make([]client.Object, 0, apps)
	for i := range apps {
		objs = append(objs, application(i, srv.URL("fleet")))
	}
	begin := time.Now()
	if err := createAll(ctx, cl, objs); err != nil {
		return sample{}, err
	}
	var synced time.Duration
	end, err := waitAll(ctx, apps, func(ctx context.Context) (int, error) {
		s, ready, err := countApplications(ctx, cl, commit)
		if s == apps && synced == 0 {
			synced = time.Since(begin)
		}
		return ready, err
	})
	if err != nil {
		return sample{}, fmt.Errorf("flotilla: %w\n%s", err, h.ControllerLogTail(30))
	}
	s, err := measure(end.Sub(begin), h.Fleet.Clusters[0], []int{h.ControllerPID()}, []string{"flotilla/"})
	s.synced = synced
	return s, err
}

func application(i int, url string) *flotillav1.Application {
	d, _ := time.ParseDuration(interval)
	return &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ApplicationSpec{
			Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: folder(i)},
			Destination: flotillav1.Destination{Namespace: name(i)},
			SyncPolicy: flotillav1.SyncPolicy{
				Automated:       &flotillav1.AutomatedSync{Prune: true},
				CreateNamespace: true,
				Interval:        &metav1.Duration{Duration: d},
			},
		},
	}
}

// countApplications counts the Applications Synced at commit, and those
// also Healthy: what a Flux Kustomization with wait reports as Ready.
func countApplications(ctx context.Context, cl client.Client, commit string) (synced, ready int, err error) {
	var list flotillav1.ApplicationList
	if err := cl.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		return 0, 0, err
	}
	for _, a := range list.Items {
		if a.Status.Sync.Status != flotillav1.SyncStatusSynced || a.Status.Sync.Revision != commit {
			continue
		}
		synced++
		if a.Status.Health.Status == flotillav1.HealthHealthy {
			ready++
		}
	}
	return synced, ready, nil
}
