package v1alpha1

// DefaultNamespace is where Flotilla's resources live in the hub unless told otherwise.
const DefaultNamespace = "flotilla-system"

// InCluster is the destination cluster name that means the hub itself.
const InCluster = "in-cluster"

// DefaultProject is the Project that allows everything.
const DefaultProject = "default"

// FieldManager is the field owner of every server-side apply Flotilla makes.
const FieldManager = "flotilla"

// Labels and annotations Flotilla puts on the objects it applies.
const (
	// TrackingLabel names the owning Application on every applied object;
	// drift watches select on it.
	TrackingLabel = "app.flotilla.dev/name"
	// OwnerAnnotation holds "namespace/name/uid" of the owning Application.
	// Prune deletes an object only when this matches exactly.
	OwnerAnnotation = "app.flotilla.dev/owner"
)

// Annotations users (and the CLI and API) set on an Application to ask for an
// operation. They are recorded on the object, so a request survives a
// controller restart. Each request is a token (any string; the CLI uses the
// time): the controller acts once per new token and records the token it
// handled in status (lastHandledSync, lastHandledRefresh).
const (
	// SyncAnnotation asks for a sync now, also without automated sync.
	SyncAnnotation = "flotilla.dev/sync"
	// SyncRevisionAnnotation, with SyncAnnotation, syncs this revision
	// (branch, tag or commit) instead of targetRevision.
	SyncRevisionAnnotation = "flotilla.dev/sync-revision"
	// RefreshAnnotation asks for a fetch and compare now; it applies only
	// when automated sync is on.
	RefreshAnnotation = "flotilla.dev/refresh"
	// RollbackAnnotation holds the id of a status.history entry: while it is
	// set, the Application is pinned to that entry's revision, also with
	// automated sync on. Removing it returns to targetRevision.
	RollbackAnnotation = "flotilla.dev/rollback"
)

// Condition types, following kstatus conventions.
const (
	// ConditionReady is True when the last reconcile applied the desired
	// state of the current revision.
	ConditionReady = "Ready"
	// ConditionReconciling is True while a sync is under way.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot make progress
	// without a change from the user (a bad path, a broken manifest).
	ConditionStalled = "Stalled"
)

// Condition reasons. Each names the step that decided the condition.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonProgressing        = "Progressing"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonFetchFailed        = "FetchFailed"
	ReasonAuthFailed         = "AuthenticationFailed"
	ReasonRevisionNotFound   = "RevisionNotFound"
	ReasonRenderFailed       = "RenderFailed"
	ReasonClusterUnavailable = "ClusterUnavailable"
	ReasonDryRunFailed       = "DryRunFailed"
	ReasonApplyFailed        = "ApplyFailed"
	ReasonPruneFailed        = "PruneFailed"
	ReasonPruneRefused       = "PruneRefused"
	ReasonOwnershipConflict  = "OwnershipConflict"
	ReasonOutOfSync          = "OutOfSync"
	ReasonDependencyNotReady = "DependencyNotReady"
	ReasonDependencyCycle    = "DependencyCycle"
)

// SyncStatusCode says whether the cluster matches the source.
type SyncStatusCode string

const (
	SyncStatusSynced    SyncStatusCode = "Synced"
	SyncStatusOutOfSync SyncStatusCode = "OutOfSync"
	SyncStatusUnknown   SyncStatusCode = "Unknown"
)

// HealthStatusCode is the closed health vocabulary that status, the REST API
// and the UI share verbatim.
type HealthStatusCode string

const (
	HealthHealthy     HealthStatusCode = "Healthy"
	HealthProgressing HealthStatusCode = "Progressing"
	HealthDegraded    HealthStatusCode = "Degraded"
	HealthSuspended   HealthStatusCode = "Suspended"
	HealthMissing     HealthStatusCode = "Missing"
	HealthUnknown     HealthStatusCode = "Unknown"
)

// OperationPhase is the phase of the current or last sync operation.
type OperationPhase string

const (
	OperationRunning   OperationPhase = "Running"
	OperationSucceeded OperationPhase = "Succeeded"
	OperationFailed    OperationPhase = "Failed"
)
