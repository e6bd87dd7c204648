package controller

// The least the controller needs in the hub, as RBAC markers: `make
// generate` writes them into config/rbac/role.yaml, which `flotilla install
// --controller` installs. Everything is in the controller's own namespace
// (the kustomize base moves it with `namespace:`); nothing cluster-wide,
// because the controller's cache watches that namespace alone. Syncing to
// the hub itself (destination "in-cluster") needs more, granted apart by
// config/in-cluster.
//
// Applications: a Fleet creates, updates and deletes its generated ones; the
// finalizer is added and removed by patch.
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=applications,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=applications/status;applications/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=clusters;fleets;projects,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=clusters/status;fleets/status;projects/status,verbs=get;update;patch
//
// Notifications (docs/notifications.md): read, and their status written.
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=notifications,verbs=get;list;watch
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=notifications/status,verbs=get;update;patch
//
// Secrets: source and Cluster credentials are read.
// +kubebuilder:rbac:groups="",namespace=flotilla-system,resources=secrets,verbs=get;list;watch
//
// Cluster API (--capi, docs/capi.md): CAPI Clusters and their kubeconfig
// Secrets are read; a provisioned cluster is registered (its Cluster and
// credentials Secret created, kept and deleted). These are the only writes
// of Secrets and Clusters the controller makes.
// +kubebuilder:rbac:groups=cluster.x-k8s.io,namespace=flotilla-system,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=flotilla.dev,namespace=flotilla-system,resources=clusters,verbs=create;update;delete
// +kubebuilder:rbac:groups="",namespace=flotilla-system,resources=secrets,verbs=create;update;patch;delete
//
// Events of syncs, and the Leases of replicas sharing clusters (--shards).
// +kubebuilder:rbac:groups="";events.k8s.io,namespace=flotilla-system,resources=events,verbs=create;patch;update
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=flotilla-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
//
// Pull agents (docs/agent.md): the Role of each agent is kept equal to the
// Applications of its cluster, by name. The controller grants nothing it
// does not hold itself.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,namespace=flotilla-system,resources=roles,verbs=get;list;watch;create;update;patch
