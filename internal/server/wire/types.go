package wire

import (
	"encoding/json"
	"time"
)

// Error is the body of every error response.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Code names an error class; each maps to one HTTP status.
type Code string

// The error codes of the API and their HTTP statuses (see Status).
const (
	CodeBadRequest      Code = "BadRequest"
	CodeUnauthenticated Code = "Unauthenticated"
	CodeForbidden       Code = "Forbidden"
	CodeNotFound        Code = "NotFound"
	CodeConflict        Code = "Conflict"
	CodePayloadTooLarge Code = "PayloadTooLarge"
	CodeTooManyRequests Code = "TooManyRequests"
	CodeInternal        Code = "Internal"
	CodeUnavailable     Code = "Unavailable"
)

// Status is the HTTP status of a code; an unknown code is 500.
func (c Code) Status() int {
	switch c {
	case CodeBadRequest:
		return 400
	case CodeUnauthenticated:
		return 401
	case CodeForbidden:
		return 403
	case CodeNotFound:
		return 404
	case CodeConflict:
		return 409
	case CodePayloadTooLarge:
		return 413
	case CodeTooManyRequests:
		return 429
	case CodeUnavailable:
		return 503
	default:
		return 500
	}
}

// List is the envelope of every list: the items of one page, how many match
// in all, and the token of the next page (empty on the last).
type List[T any] struct {
	Items    []T    `json:"items"`
	Total    int    `json:"total"`
	Continue string `json:"continue,omitempty"`
}

// Settings is what the login page needs to know before anyone logs in.
type Settings struct {
	Version       string      `json:"version"`
	SSO           SSOSettings `json:"sso"`
	PasswordLogin bool        `json:"passwordLogin"`
}

// SSOSettings says whether single sign-on is configured and how to name it.
type SSOSettings struct {
	Enabled bool   `json:"enabled"`
	Name    string `json:"name,omitempty"`
}

// LoginRequest logs in with a local account.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// ExchangeRequest trades the one-time code of a CLI single sign-on for a
// token.
type ExchangeRequest struct {
	Code string `json:"code"`
}

// Token is a session token and when it expires.
type Token struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Session describes the caller.
type Session struct {
	Username  string    `json:"username"`
	Groups    []string  `json:"groups,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	CSRFToken string    `json:"csrfToken,omitempty"`
	// Verbs are what the caller may do, by Project name, with "*" for
	// every Project (the built-in roles): the UI shows only the buttons
	// of verbs the caller has. The server still checks every request.
	Verbs map[string][]string `json:"verbs,omitempty"`
}

// PasswordChange changes a local account's password.
type PasswordChange struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// SyncRequest asks for a sync. Prune nil keeps the Application's own
// policy. DryRun answers the diff and changes nothing.
type SyncRequest struct {
	Revision string `json:"revision,omitempty"`
	Prune    *bool  `json:"prune,omitempty"`
	DryRun   bool   `json:"dryRun,omitempty"`
}

// RollbackRequest pins the history entry ID; 0 unpins.
type RollbackRequest struct {
	ID int64 `json:"id"`
}

// HistoryEntry is one entry of an Application's history.
type HistoryEntry struct {
	ID         int64     `json:"id"`
	Revision   string    `json:"revision"`
	DeployedAt time.Time `json:"deployedAt"`
	Message    string    `json:"message,omitempty"`
	Author     string    `json:"author,omitempty"`
}

// ObjectRef names one object of a workload cluster.
type ObjectRef struct {
	Group     string `json:"group"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
}

// Health is a health status and its message.
type Health struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// ResourceNode is one object of an Application's tree: one it manages, or
// a child found through owner references.
type ResourceNode struct {
	ObjectRef
	Parents []ObjectRef `json:"parents,omitempty"`
	Health  *Health     `json:"health,omitempty"`
	Sync    string      `json:"sync,omitempty"`
	Managed bool        `json:"managed"`
}

// Tree is an Application's resource tree. Truncated says the tree was cut
// at the server's limit of nodes.
type Tree struct {
	Nodes     []ResourceNode `json:"nodes"`
	Truncated bool           `json:"truncated,omitempty"`
}

// DiffAction is what a sync would do to one object.
type DiffAction string

// The diff actions.
const (
	DiffCreate DiffAction = "Create"
	DiffUpdate DiffAction = "Update"
	DiffDelete DiffAction = "Delete"
	DiffNone   DiffAction = "None"
)

// ResourceDiff is the normalized difference of one object, Secret values
// masked.
type ResourceDiff struct {
	ObjectRef
	Action  DiffAction `json:"action"`
	Live    string     `json:"live,omitempty"`
	Desired string     `json:"desired,omitempty"`
	Diff    string     `json:"diff,omitempty"`
}

// PreviewRequest asks what a revision would change; empty is the
// template's targetRevision.
type PreviewRequest struct {
	Revision string `json:"revision,omitempty"`
}

// FleetPreview is what a revision would change on each cluster of a Fleet;
// an Application's preview is one with its one cluster.
type FleetPreview struct {
	Revision string           `json:"revision,omitempty"`
	Clusters []ClusterPreview `json:"clusters"`
}

// ClusterPreview is what a revision would change on one cluster: its
// objects' diffs, or the error that stops it (a missing CRD, a webhook
// that refuses, a Project rule).
type ClusterPreview struct {
	Cluster     string         `json:"cluster"`
	Application string         `json:"application"`
	Revision    string         `json:"revision,omitempty"`
	Resources   []ResourceDiff `json:"resources,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// Diff is what a sync of an Application would change.
type Diff struct {
	Revision  string         `json:"revision"`
	Resources []ResourceDiff `json:"resources"`
}

// Event is a Kubernetes event of an Application or of one of its objects.
type Event struct {
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	Object    ObjectRef `json:"object"`
	Count     int32     `json:"count,omitempty"`
	FirstSeen time.Time `json:"firstSeen,omitempty"`
	LastSeen  time.Time `json:"lastSeen,omitempty"`
}

// ClusterRegistration registers a cluster, from a kubeconfig or from a
// server, a bearer token and a CA.
type ClusterRegistration struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Kubeconfig  string            `json:"kubeconfig,omitempty"`
	Server      string            `json:"server,omitempty"`
	BearerToken string            `json:"bearerToken,omitempty"`
	CAData      string            `json:"caData,omitempty"`
}

// StreamEvent is the data of one server-sent event of /api/v1/stream.
type StreamEvent struct {
	Kind   string          `json:"kind"`
	Object json.RawMessage `json:"object"`
}

// The event names of /api/v1/stream.
const (
	StreamAdded    = "ADDED"
	StreamModified = "MODIFIED"
	StreamDeleted  = "DELETED"
	StreamResync   = "RESYNC"
)

// FleetCluster is the status of one cluster of a Fleet: the Application
// the Fleet generated for it (GET /api/v1/fleets/{ns}/{name}, "clusters").
type FleetCluster struct {
	Cluster     string `json:"cluster"`
	Application string `json:"application"`
	Sync        string `json:"sync"`
	Health      string `json:"health"`
	Revision    string `json:"revision,omitempty"`
	// PinnedRevision is set while the rollout holds the cluster at a
	// revision.
	PinnedRevision string `json:"pinnedRevision,omitempty"`
	// Operation is the phase of the last sync: Running, Succeeded, Failed.
	Operation string `json:"operation,omitempty"`
	Message   string `json:"message,omitempty"`
}
