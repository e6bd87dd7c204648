package server

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func testApp(name, project, cluster string, sync flotillav1.SyncStatusCode, health flotillav1.HealthStatusCode, lbls map[string]string) *flotillav1.Application {
	a := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "flotilla-system", Name: name, Labels: lbls}}
	a.Spec.Project, a.Spec.Destination.Cluster = project, cluster
	a.Status.Sync.Status, a.Status.Health.Status = sync, health
	return a
}

func TestFilterApplication(t *testing.T) {
	web := testApp("web-prod", "team-a", "prod-1", flotillav1.SyncStatusSynced, flotillav1.HealthHealthy,
		map[string]string{"tier": "front", flotillav1.FleetLabel: "shop"})
	bare := testApp("Worker", "", "", "", "", nil)
	tests := []struct {
		query string
		app   *flotillav1.Application
		want  bool
	}{
		{"", web, true},
		{"project=team-a", web, true},
		{"project=team-b", web, false},
		{"project=default", bare, true},
		{"cluster=prod-1", web, true},
		{"cluster=in-cluster", bare, true},
		{"cluster=prod-2", web, false},
		{"fleet=shop", web, true},
		{"fleet=shop", bare, false},
		{"sync=Synced", web, true},
		{"sync=OutOfSync", web, false},
		{"sync=Unknown", bare, true},
		{"health=Healthy", web, true},
		{"health=Unknown", bare, true},
		{"health=Degraded", web, false},
		{"selector=tier%3Dfront", web, true},
		{"selector=tier+in+(back)", web, false},
		{"selector=!tier", bare, true},
		{"search=PROD", web, true},
		{"search=work", bare, true},
		{"search=db", web, false},
		{"namespace=flotilla-system", web, true},
		{"namespace=other", web, false},
		{"project=team-a&sync=Synced&health=Healthy&fleet=shop", web, true},
		{"project=team-a&sync=OutOfSync", web, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseFilter(q)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.application(tt.app); got != tt.want {
				t.Errorf("%s on %s: got %v, want %v", tt.query, tt.app.Name, got, tt.want)
			}
		})
	}
}

func TestFilterRefusesBadQueries(t *testing.T) {
	for _, query := range []string{
		"sync=Maybe", "health=Fine", "selector=a%3D%3D%3Db!", "limit=0", "limit=1001", "limit=x",
		"continue=%25%25", "search=" + string(make([]byte, maxQueryValue+1)),
	} {
		t.Run(query, func(t *testing.T) {
			q, _ := url.ParseQuery(query)
			_, ferr := parseFilter(q)
			_, perr := parsePage(q)
			err := ferr
			if err == nil {
				err = perr
			}
			if err == nil {
				t.Fatalf("%s: no error", query)
			}
			if status, body := errorBody(err); status != 400 || body.Code != "BadRequest" {
				t.Errorf("%s: %d %+v, want 400 BadRequest", query, status, body)
			}
		})
	}
}

func TestPaginate(t *testing.T) {
	names := []string{"e", "a", "d", "b", "c"}
	key := func(s *string) string { return objectKey("ns", *s) }
	var got []string
	p := page{limit: 2}
	for pages := 0; pages < 10; pages++ {
		items := append([]string(nil), names...)
		out, total, next := paginate(items, key, p)
		if total != len(names) {
			t.Fatalf("total %d, want %d", total, len(names))
		}
		got = append(got, out...)
		if next == "" {
			break
		}
		q := url.Values{"continue": {next}, "limit": {"2"}}
		var err error
		if p, err = parsePage(q); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestPaginateSortsByNamespaceThenName(t *testing.T) {
	type nn struct{ ns, name string }
	items := []nn{{"a-b", "x"}, {"a", "z"}, {"a", "y"}}
	out, _, _ := paginate(items, func(i *nn) string { return objectKey(i.ns, i.name) }, page{limit: 10})
	want := []nn{{"a", "y"}, {"a", "z"}, {"a-b", "x"}}
	if diff := cmp.Diff(want, out, cmp.AllowUnexported(nn{})); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
