package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Bounds of a list page (see docs/api.md).
const (
	defaultLimit = 500
	maxLimit     = 1000
	// maxQueryValue bounds every query parameter the lists read.
	maxQueryValue = 1024
)

// filter is the query of a list or of the stream, parsed once. Empty fields
// match everything.
type filter struct {
	project, cluster, fleet, sync, health, search, namespace string
	selector                                                 labels.Selector
}

// parseFilter reads the list filters of docs/api.md from q.
func parseFilter(q url.Values) (filter, error) {
	f := filter{selector: labels.Everything()}
	fields := map[string]*string{
		"project": &f.project, "cluster": &f.cluster, "fleet": &f.fleet, "sync": &f.sync,
		"health": &f.health, "search": &f.search, "namespace": &f.namespace,
	}
	for key, dst := range fields {
		v := q.Get(key)
		if len(v) > maxQueryValue {
			return f, badRequest("query parameter %s is longer than %d bytes", key, maxQueryValue)
		}
		*dst = v
	}
	f.search = strings.ToLower(f.search)
	if err := checkVocabulary("sync", f.sync, syncValues); err != nil {
		return f, err
	}
	if err := checkVocabulary("health", f.health, healthValues); err != nil {
		return f, err
	}
	if s := q.Get("selector"); s != "" {
		if len(s) > maxQueryValue {
			return f, badRequest("query parameter selector is longer than %d bytes", maxQueryValue)
		}
		sel, err := labels.Parse(s)
		if err != nil {
			return f, badRequest("selector %q: %v", s, err)
		}
		f.selector = sel
	}
	return f, nil
}

var syncValues = []string{string(flotillav1.SyncStatusSynced), string(flotillav1.SyncStatusOutOfSync), string(flotillav1.SyncStatusUnknown)}

var healthValues = []string{
	string(flotillav1.HealthHealthy), string(flotillav1.HealthProgressing), string(flotillav1.HealthDegraded),
	string(flotillav1.HealthSuspended), string(flotillav1.HealthMissing), string(flotillav1.HealthUnknown),
}

func checkVocabulary(key, v string, allowed []string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badRequest("%s %q: want one of %s", key, v, strings.Join(allowed, ", "))
}

// meta matches what every kind has: namespace, name and labels.
func (f filter) meta(namespace, name string, lbls map[string]string) bool {
	if f.namespace != "" && namespace != f.namespace {
		return false
	}
	if f.search != "" && !strings.Contains(strings.ToLower(name), f.search) {
		return false
	}
	return f.selector.Matches(labels.Set(lbls))
}

// application matches every filter against an Application.
func (f filter) application(a *flotillav1.Application) bool {
	if !f.meta(a.Namespace, a.Name, a.Labels) {
		return false
	}
	if f.project != "" && projectOf(a.Spec.Project) != f.project {
		return false
	}
	if f.cluster != "" && clusterOf(a.Spec.Destination.Cluster) != f.cluster {
		return false
	}
	if f.fleet != "" && a.Labels[flotillav1.FleetLabel] != f.fleet {
		return false
	}
	if f.sync != "" && syncOf(a) != f.sync {
		return false
	}
	return f.health == "" || healthOf(a) == f.health
}

// fleet matches namespace, selector, search and project.
func (f filter) fleetMatches(fl *flotillav1.Fleet) bool {
	if !f.meta(fl.Namespace, fl.Name, fl.Labels) {
		return false
	}
	return f.project == "" || projectOf(fl.Spec.Project) == f.project
}

// projectOf is an Application's or Fleet's Project: empty means default.
func projectOf(p string) string {
	if p == "" {
		return flotillav1.DefaultProject
	}
	return p
}

func clusterOf(c string) string {
	if c == "" {
		return flotillav1.InCluster
	}
	return c
}

// syncOf and healthOf read status; a status not yet written is Unknown.
func syncOf(a *flotillav1.Application) string {
	if s := a.Status.Sync.Status; s != "" {
		return string(s)
	}
	return string(flotillav1.SyncStatusUnknown)
}

func healthOf(a *flotillav1.Application) string {
	if h := a.Status.Health.Status; h != "" {
		return string(h)
	}
	return string(flotillav1.HealthUnknown)
}

// page is one page of a list: where it starts and how long it is.
type page struct {
	limit int
	after string // objectKey of the last item of the previous page
}

// keySep joins namespace and name in a sort key: below every character of
// a name, so that keys sort by namespace, then name.
const keySep = "\x00"

func objectKey(namespace, name string) string { return namespace + keySep + name }

func parsePage(q url.Values) (page, error) {
	p := page{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, badRequest("limit %q: want a number from 1 to %d", s, maxLimit)
		}
		p.limit = n
	}
	if s := q.Get("continue"); s != "" {
		if len(s) > maxQueryValue {
			return p, badRequest("continue token is longer than %d bytes", maxQueryValue)
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || !strings.Contains(string(raw), keySep) {
			return p, badRequest("continue token %q is not one this server gave", s)
		}
		p.after = string(raw)
	}
	return p, nil
}

// paginate sorts items by key and returns the page p asks for, the total
// and the next page's token.
func paginate[T any](items []T, key func(*T) string, p page) (out []T, total int, next string) {
	sort.Slice(items, func(i, j int) bool { return key(&items[i]) < key(&items[j]) })
	total = len(items)
	start := 0
	if p.after != "" {
		start = sort.Search(len(items), func(i int) bool { return key(&items[i]) > p.after })
	}
	end := min(start+p.limit, len(items))
	out = items[start:end]
	if end < len(items) && len(out) > 0 {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(&out[len(out)-1])))
	}
	if out == nil {
		out = []T{}
	}
	return out, total, next
}

// writeList answers one page of items as a wire.List, sorted by namespace
// and name, each item shown through view.
func writeList[T any, PT interface {
	*T
	client.Object
}](w http.ResponseWriter, items []T, p page, view func(T) T) {
	out, total, next := paginate(items, func(o *T) string { return objectKey(PT(o).GetNamespace(), PT(o).GetName()) }, p)
	for i := range out {
		out[i] = view(out[i])
	}
	writeJSON(w, http.StatusOK, wire.List[T]{Items: out, Total: total, Continue: next})
}

// visible keeps the items keep accepts, in a new slice.
func visible[T any](all []T, keep func(*T) bool) []T {
	out := make([]T, 0, len(all))
	for i := range all {
		if keep(&all[i]) {
			out = append(out, all[i])
		}
	}
	return out
}
