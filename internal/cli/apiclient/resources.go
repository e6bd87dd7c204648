package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// ListOptions are the filters of a list; empty fields filter nothing.
type ListOptions struct {
	Namespace string
	Project   string
	Cluster   string
	Fleet     string
	Sync      string
	Health    string
	Selector  string
	Search    string
	// Limit is the page size (the server's default when 0). Every page is
	// read in any case.
	Limit int
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"namespace": o.Namespace, "project": o.Project, "cluster": o.Cluster,
		"fleet": o.Fleet, "sync": o.Sync, "health": o.Health, "selector": o.Selector, "search": o.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// maxPages bounds how many pages one list reads.
const maxPages = 1000

// list reads every page of a list.
func list[T any](ctx context.Context, c *Client, path string, opts ListOptions) ([]T, error) {
	q := opts.query()
	var items []T
	for range maxPages {
		var page wire.List[T]
		if err := c.call(ctx, request{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.Continue == "" {
			return items, nil
		}
		q.Set("continue", page.Continue)
	}
	return nil, fmt.Errorf("GET %s: more than %d pages", path, maxPages)
}

func objectPath(kind, namespace, name string) string {
	return "/api/v1/" + kind + "/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// ListApplications lists the Applications the caller may see.
func (c *Client) ListApplications(ctx context.Context, opts ListOptions) ([]flotillav1.Application, error) {
	return list[flotillav1.Application](ctx, c, "/api/v1/applications", opts)
}

// GetApplication reads one Application.
func (c *Client) GetApplication(ctx context.Context, namespace, name string) (*flotillav1.Application, error) {
	var app flotillav1.Application
	return &app, c.call(ctx, request{method: http.MethodGet, path: objectPath("applications", namespace, name)}, &app)
}

// CreateApplication creates app and answers it as stored.
func (c *Client) CreateApplication(ctx context.Context, app *flotillav1.Application) (*flotillav1.Application, error) {
	var out flotillav1.Application
	return &out, c.call(ctx, request{method: http.MethodPost, path: "/api/v1/applications", body: app}, &out)
}

// DeleteApplication deletes an Application; policy (Delete or Orphan) is
// set first when not empty.
func (c *Client) DeleteApplication(ctx context.Context, namespace, name string, policy flotillav1.DeletionPolicy) error {
	q := url.Values{}
	if policy != "" {
		q.Set("deletionPolicy", string(policy))
	}
	return c.call(ctx, request{method: http.MethodDelete, path: objectPath("applications", namespace, name), query: q}, nil)
}

// Sync asks for a sync and answers the Application as patched; a dry run
// answers the diff instead, and no Application.
func (c *Client) Sync(ctx context.Context, namespace, name string, req wire.SyncRequest) (*flotillav1.Application, *wire.Diff, error) {
	var raw json.RawMessage
	r := request{method: http.MethodPost, path: objectPath("applications", namespace, name) + "/sync", body: req}
	if err := c.call(ctx, r, &raw); err != nil {
		return nil, nil, err
	}
	if req.DryRun {
		var d wire.Diff
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, nil, fmt.Errorf("POST %s: the answer is not a diff: %w", r.path, err)
		}
		return nil, &d, nil
	}
	var app flotillav1.Application
	if len(raw) > 0 && json.Unmarshal(raw, &app) == nil && app.Name != "" {
		return &app, nil, nil
	}
	return nil, nil, nil
}

// Refresh asks for a fetch and compare now.
func (c *Client) Refresh(ctx context.Context, namespace, name string) error {
	return c.call(ctx, request{method: http.MethodPost, path: objectPath("applications", namespace, name) + "/refresh"}, nil)
}

// Rollback pins the history entry id; 0 unpins.
func (c *Client) Rollback(ctx context.Context, namespace, name string, id int64) error {
	r := request{method: http.MethodPost, path: objectPath("applications", namespace, name) + "/rollback", body: wire.RollbackRequest{ID: id}}
	return c.call(ctx, r, nil)
}

// History answers an Application's history, oldest first.
func (c *Client) History(ctx context.Context, namespace, name string) ([]wire.HistoryEntry, error) {
	var raw json.RawMessage
	r := request{method: http.MethodGet, path: objectPath("applications", namespace, name) + "/history"}
	if err := c.call(ctx, r, &raw); err != nil {
		return nil, err
	}
	return decodeItems[wire.HistoryEntry](raw, r.path)
}

// decodeItems reads a JSON array or a list envelope.
func decodeItems[T any](raw json.RawMessage, path string) ([]T, error) {
	var items []T
	if err := json.Unmarshal(raw, &items); err == nil {
		return items, nil
	}
	var l wire.List[T]
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("%s: the answer is not a list: %w", path, err)
	}
	return l.Items, nil
}

// Tree answers an Application's resource tree.
func (c *Client) Tree(ctx context.Context, namespace, name string) (*wire.Tree, error) {
	var t wire.Tree
	return &t, c.call(ctx, request{method: http.MethodGet, path: objectPath("applications", namespace, name) + "/tree"}, &t)
}

// Diff answers what a sync to revision (empty: the target revision) would
// change.
func (c *Client) Diff(ctx context.Context, namespace, name, revision string) (*wire.Diff, error) {
	q := url.Values{}
	if revision != "" {
		q.Set("revision", revision)
	}
	var d wire.Diff
	return &d, c.call(ctx, request{method: http.MethodGet, path: objectPath("applications", namespace, name) + "/diff", query: q}, &d)
}

// ListClusters lists the Clusters.
func (c *Client) ListClusters(ctx context.Context, opts ListOptions) ([]flotillav1.Cluster, error) {
	return list[flotillav1.Cluster](ctx, c, "/api/v1/clusters", opts)
}

// GetCluster reads one Cluster.
func (c *Client) GetCluster(ctx context.Context, namespace, name string) (*flotillav1.Cluster, error) {
	var cl flotillav1.Cluster
	return &cl, c.call(ctx, request{method: http.MethodGet, path: objectPath("clusters", namespace, name)}, &cl)
}

// RegisterCluster registers a cluster and answers its Cluster.
func (c *Client) RegisterCluster(ctx context.Context, reg wire.ClusterRegistration) (*flotillav1.Cluster, error) {
	var cl flotillav1.Cluster
	return &cl, c.call(ctx, request{method: http.MethodPost, path: "/api/v1/clusters", body: reg}, &cl)
}

// DeleteCluster removes a Cluster and its credentials Secret.
func (c *Client) DeleteCluster(ctx context.Context, namespace, name string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: objectPath("clusters", namespace, name)}, nil)
}

// ListFleets lists the Fleets.
func (c *Client) ListFleets(ctx context.Context, opts ListOptions) ([]flotillav1.Fleet, error) {
	return list[flotillav1.Fleet](ctx, c, "/api/v1/fleets", opts)
}

// FleetDetail is a Fleet with one entry per Application it generated.
type FleetDetail struct {
	flotillav1.Fleet `json:",inline"`
	Clusters         []FleetCluster `json:"clusters,omitempty"`
}

// FleetCluster is the state of one generated Application.
type FleetCluster struct {
	Cluster     string `json:"cluster"`
	Application string `json:"application,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Sync        string `json:"sync,omitempty"`
	Health      string `json:"health,omitempty"`
	Revision    string `json:"revision,omitempty"`
	Message     string `json:"message,omitempty"`
}

// GetFleet reads one Fleet with the state of each of its clusters.
func (c *Client) GetFleet(ctx context.Context, namespace, name string) (*FleetDetail, error) {
	var f FleetDetail
	return &f, c.call(ctx, request{method: http.MethodGet, path: objectPath("fleets", namespace, name)}, &f)
}

// FleetAction asks the server for a rollout action on a Fleet: "pause",
// "resume", "promote" or "retry".
func (c *Client) FleetAction(ctx context.Context, namespace, name, action string) (*flotillav1.Fleet, error) {
	var f flotillav1.Fleet
	return &f, c.call(ctx, request{method: http.MethodPost, path: objectPath("fleets", namespace, name) + "/" + action}, &f)
}

// FleetPreview asks what revision ("" for the template's) would change on
// each cluster of a Fleet.
func (c *Client) FleetPreview(ctx context.Context, namespace, name, revision string) (*wire.FleetPreview, error) {
	var p wire.FleetPreview
	r := request{method: http.MethodPost, path: objectPath("fleets", namespace, name) + "/preview", body: wire.PreviewRequest{Revision: revision}}
	return &p, c.call(ctx, r, &p)
}

// AppPreview asks what revision ("" for its current one) would change on
// an Application's cluster: a preview of one cluster.
func (c *Client) AppPreview(ctx context.Context, namespace, name, revision string) (*wire.FleetPreview, error) {
	var p wire.FleetPreview
	r := request{method: http.MethodPost, path: objectPath("applications", namespace, name) + "/preview", body: wire.PreviewRequest{Revision: revision}}
	return &p, c.call(ctx, r, &p)
}

// ListProjects lists the Projects.
func (c *Client) ListProjects(ctx context.Context, opts ListOptions) ([]flotillav1.Project, error) {
	return list[flotillav1.Project](ctx, c, "/api/v1/projects", opts)
}

// GetProject reads one Project.
func (c *Client) GetProject(ctx context.Context, namespace, name string) (*flotillav1.Project, error) {
	var p flotillav1.Project
	return &p, c.call(ctx, request{method: http.MethodGet, path: objectPath("projects", namespace, name)}, &p)
}
