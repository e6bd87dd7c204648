package ui

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// A Fleet over both clusters: the fleets page lists it at its revision
// with its clusters synced; its own page shows each cluster's
// Application at that revision and the rollout complete; the overview
// gives the Fleet one row with a cell on each cluster.
func (f *fleet) testFleetPages(t *testing.T) {
	fl := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "site"},
		Spec: flotillav1.FleetSpec{
			Project:         "default",
			ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: f.app(t, "web-dev-1").Spec.Source.RepoURL, TargetRevision: "main", Path: "web"},
				Destination: flotillav1.FleetDestination{Namespace: "ui-site"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated:       &flotillav1.AutomatedSync{Prune: true, SelfHeal: true},
					CreateNamespace: true,
					Interval:        &metav1.Duration{Duration: 5 * time.Second},
				},
			},
		},
	}
	if err := f.hub.Client.Create(context.Background(), fl); err != nil {
		t.Fatalf("create the fleet: %v", err)
	}
	for _, c := range []string{"dev-1", "dev-2"} {
		f.waitApp(t, "site-"+c, "Synced and Healthy", func(a *flotillav1.Application) bool {
			return a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Health.Status == flotillav1.HealthHealthy && a.Status.Sync.Revision == f.rev
		})
	}

	b := f.open(t)
	b.Go("/fleets")
	b.WaitJS(`[...document.querySelectorAll('main tbody tr')].some((r) => r.innerText.includes('site') && r.innerText.includes('`+f.rev[:7]+`') && r.innerText.includes('2/2'))`,
		"site at its revision, 2/2 synced")
	b.Shot("fleets")
	b.Must("open the fleet", chromedp.Click(`//main//a[text()="site"]`))
	b.WaitJS(`location.pathname === '/fleets/flotilla-system/site'`, "the fleet's page")
	for _, c := range []string{"dev-1", "dev-2"} {
		b.WaitJS(`[...document.querySelectorAll('main tbody tr')].some((r) => r.innerText.includes('site-`+c+`') && r.innerText.includes('`+f.rev[:7]+`') && r.innerText.includes('Healthy'))`,
			"site-"+c+" at the revision")
	}
	b.WaitJS(`document.querySelector('progress[aria-label="Clusters on the fleet\'s revision"]')?.value === 2`, "the rollout at 2 of 2")
	docShot(t, b, "fleet")

	b.Go("/?fleet=site")
	waitCell(b, "site-dev-1", "dev-1", "healthy", f.rev)
	waitCell(b, "site-dev-2", "dev-2", "healthy", f.rev)
	if n := browser.Eval[int](b, `document.querySelectorAll('.matrix-row').length`); n != 1 {
		t.Errorf("the overview filtered to the fleet site has %d rows, want the fleet's one", n)
	}
	noProblems(t, b)
}
