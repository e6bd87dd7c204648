package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/webhook"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestWebhookBurst: 1,000 signed pushes in a burst, half to each of two
// repositories with three Applications each, patch each Application a few
// times (at most once per coalescing window, plus the first), and the
// controller fetches each repository's new commit once: one upload-pack
// fetch per repository at its git server.
func TestWebhookBurst(t *testing.T) {
	ns := harness.TestNamespace(t)
	base := startWebhook(t, webhook.DefaultWindow)
	type repoUnderTest struct {
		repo   *gitserver.Repo
		srv    *gitserver.HTTP
		apps   []string
		commit string
	}
	repos := make([]*repoUnderTest, 2)
	for i := range repos {
		root := t.TempDir()
		r := &repoUnderTest{repo: gitserver.NewRepo(t, root, fmt.Sprintf("burst%d", i))}
		r.srv = gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
		r.repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
		for j := range 3 {
			name := fmt.Sprintf("burst-%d-%d", i, j)
			newApp(t, name, quietApp(r.srv.URL(fmt.Sprintf("burst%d", i)), "main", fmt.Sprintf("%s-%d-%d", ns, i, j)))
			r.apps = append(r.apps, name)
		}
		repos[i] = r
	}
	for _, r := range repos {
		for _, name := range r.apps {
			env.WaitApp(t, name, 2*time.Minute, "Synced", harness.Synced)
		}
	}
	patches := countRefreshPatches(t)
	before := make([]gitserver.Counts, len(repos))
	for i, r := range repos {
		before[i] = r.srv.Counts()
		r.commit = r.repo.Commit("main", map[string]string{"app/cm.yaml": strings.Replace(harness.GoodConfigMap, "k: v", "k: v2", 1)})
	}

	start := time.Now()
	const pushes = 1000
	var wg sync.WaitGroup
	next := make(chan int)
	failed := make(chan int, pushes)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				r := repos[i%len(repos)]
				body := githubPush(r.srv.URL(fmt.Sprintf("burst%d", i%len(repos))), "main")
				if code, err := tryPostHook(base, "/api/webhook", body, signedGitHub(body)); err != nil || code != http.StatusAccepted {
					failed <- code
				}
			}
		})
	}
	for i := range pushes {
		next <- i
	}
	close(next)
	wg.Wait()
	burst := time.Since(start)
	close(failed)
	for code := range failed {
		t.Fatalf("a push of the burst got status %d", code)
	}

	for _, r := range repos {
		for _, name := range r.apps {
			env.WaitApp(t, name, time.Minute, "Synced at the pushed commit", func(a *flotillav1.Application) bool {
				return harness.Synced(a) && a.Status.Sync.Revision == r.commit
			})
		}
	}
	time.Sleep(2 * webhook.DefaultWindow) // the last window's flush, if any
	counted := patches()
	// The first push flushes at once, then one flush per window while the
	// burst lasts, and one more for the pushes of its last window.
	most := 2 + int(math.Ceil(burst.Seconds()/webhook.DefaultWindow.Seconds()))
	t.Logf("%d pushes in %v; refresh patches per Application: %v (at most %d allowed)", pushes, burst.Round(time.Millisecond), counted, most)
	for i, r := range repos {
		patched := 0
		for _, name := range r.apps {
			n := counted[name]
			patched += n
			if n < 1 || n > most {
				t.Errorf("%s was patched %d times by the burst, want 1 to %d", name, n, most)
			}
		}
		after := r.srv.Counts()
		fetches, listings := after.Fetches-before[i].Fetches, after.LsRefs-before[i].LsRefs
		t.Logf("repository %d: %d upload-pack fetches, %d ref listings, %d refresh patches", i, fetches, listings, patched)
		if fetches != 1 {
			t.Errorf("repository %d: %d upload-pack fetches during the burst, want 1", i, fetches)
		}
		// A ref listing per reconcile that a patch caused, and a few for
		// the syncs' own retries; nowhere near one per push.
		if listings > int64(2*patched+len(r.apps)) {
			t.Errorf("repository %d: %d ref listings for %d refresh patches", i, listings, patched)
		}
	}
}

// countRefreshPatches watches the Applications from now on and returns a
// function that stops and says, per Application, how many new refresh
// tokens it saw.
func countRefreshPatches(t *testing.T) func() map[string]int {
	t.Helper()
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	var list flotillav1.ApplicationList
	if err := wc.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for _, a := range list.Items {
		last[a.Name] = a.Annotations[flotillav1.RefreshAnnotation]
	}
	w, err := wc.Watch(context.Background(), &flotillav1.ApplicationList{}, client.InNamespace(flotillav1.DefaultNamespace),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			a, ok := ev.Object.(*flotillav1.Application)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			if tok := a.Annotations[flotillav1.RefreshAnnotation]; tok != last[a.Name] {
				last[a.Name] = tok
				counts[a.Name]++
			}
		}
	}()
	t.Cleanup(w.Stop)
	return func() map[string]int {
		w.Stop()
		<-done
		return counts
	}
}
