package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Notification routes the controller's events (a sync that failed, an
// Application that turned Degraded, a rollout rolled back...) to a webhook,
// a chat channel, a commit status or Alertmanager (docs/notifications.md).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=notif,categories=flotilla
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.provider.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last delivery",type=string,JSONPath=`.status.lastDelivery.outcome`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Notification struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NotificationSpec   `json:"spec"`
	Status NotificationStatus `json:"status,omitempty"`
}

// NotificationList is a list of Notifications.
//
// +kubebuilder:object:root=true
type NotificationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Notification `json:"items"`
}

// The events a Notification may ask for (spec.events).
const (
	// EventSyncSucceeded: a sync wrote changes to its cluster. Severity info.
	EventSyncSucceeded = "SyncSucceeded"
	// EventSyncFailed: a sync failed (fetch, render, Project, dry-run,
	// apply, prune, hook or wave), or failed for another cause than the
	// last one. Severity error.
	EventSyncFailed = "SyncFailed"
	// EventHealthDegraded: an Application's health turned Degraded.
	// Severity error.
	EventHealthDegraded = "HealthDegraded"
	// EventDriftDetected: the cluster no longer matches the source (an
	// object was changed or deleted there) while it matched before.
	// Severity warning.
	EventDriftDetected = "DriftDetected"
	// EventRolloutWavePassed: a wave of a Fleet's rollout passed its
	// health gate and bake time. Severity info.
	EventRolloutWavePassed = "RolloutWavePassed"
	// EventRolloutFailed: a wave of a Fleet's rollout failed its health
	// gate. Severity error.
	EventRolloutFailed = "RolloutFailed"
	// EventRolloutRolledBack: the clusters a failed rollout had moved went
	// back to the last good revision. Severity warning.
	EventRolloutRolledBack = "RolloutRolledBack"
	// EventClusterDisconnected: a Cluster the hub reached became
	// unreachable (or its agent stopped sending heartbeats). Severity error.
	EventClusterDisconnected = "ClusterDisconnected"
)

// Severities of events, from the least to the most severe.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Provider types of a Notification.
const (
	ProviderWebhook      = "webhook"
	ProviderSlack        = "slack"
	ProviderTeams        = "teams"
	ProviderGitHub       = "github"
	ProviderGitLab       = "gitlab"
	ProviderGitea        = "gitea"
	ProviderAlertmanager = "alertmanager"
)

// NotificationSpec says which events go where.
type NotificationSpec struct {
	// Events are the event names to send: SyncSucceeded, SyncFailed,
	// HealthDegraded, DriftDetected, RolloutWavePassed, RolloutFailed,
	// RolloutRolledBack, ClusterDisconnected.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Enum=SyncSucceeded;SyncFailed;HealthDegraded;DriftDetected;RolloutWavePassed;RolloutFailed;RolloutRolledBack;ClusterDisconnected
	Events []string `json:"events"`
	// Projects, when set, limit the events to those of these Projects'
	// Applications and Fleets. A Cluster's events belong to no Project.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Projects []string `json:"projects,omitempty"`
	// Fleets, when set, limit the events to those of these Fleets and of
	// the Applications they generate.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Fleets []string `json:"fleets,omitempty"`
	// Applications, when set, limit the events to those of these
	// Applications.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Applications []string `json:"applications,omitempty"`
	// Severity is the least severity sent: info (everything), warning, or
	// error. Default info.
	// +kubebuilder:validation:Enum=info;warning;error
	// +optional
	Severity string               `json:"severity,omitempty"`
	Provider NotificationProvider `json:"provider"`
	// Template, when set, is the message of each event, in Go's
	// text/template with the event's fields (.Name, .Severity, .Project,
	// .Fleet, .Application, .Cluster, .Object, .Revision, .Message, .Time)
	// and no functions but a few pure ones (docs/notifications.md). The
	// result is cut at 4 KiB.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Template string `json:"template,omitempty"`
	// Suspend stops sending; events that happen meanwhile are dropped.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// NotificationProvider is where the events go.
type NotificationProvider struct {
	// Type is webhook, slack, teams, github, gitlab, gitea or alertmanager.
	// +kubebuilder:validation:Enum=webhook;slack;teams;github;gitlab;gitea;alertmanager
	Type string `json:"type"`
	// URL is the webhook's address (webhook, slack, teams), Alertmanager's
	// base address, or the API base of a GitHub, GitLab or Gitea server
	// (default: https://api.github.com for github; for gitlab and gitea
	// the scheme and host of the Application's source URL). Only http and
	// https.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	URL string `json:"url,omitempty"`
	// SecretRef names a Secret of the Notification's namespace: `hmacKey`
	// signs a webhook's body; `token` authenticates to GitHub, GitLab,
	// Gitea (and, as a bearer token, to Alertmanager); `address`, when
	// set, replaces url (a Slack or Teams webhook's address is itself a
	// secret). Every Project in spec.projects must allow the Secret, as
	// for a source's credentials; a Cluster's credentials are never
	// allowed.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// NotificationStatus is what the controller last did with the Notification.
type NotificationStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready is False with InvalidSpec, ProjectViolation or
	// DeliveryFailed saying why.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastDelivery is the last event sent, or that failed to be sent.
	// +optional
	LastDelivery *NotificationDelivery `json:"lastDelivery,omitempty"`
}

// Outcomes of a delivery.
const (
	DeliveryDelivered = "Delivered"
	DeliveryFailed    = "Failed"
)

// NotificationDelivery is one attempt to send an event, retries included.
type NotificationDelivery struct {
	// Event is the event's name; Subject what it is about
	// (Application/name, Fleet/name or Cluster/name).
	Event   string `json:"event"`
	Subject string `json:"subject,omitempty"`
	// Outcome is Delivered or Failed.
	Outcome string      `json:"outcome"`
	Time    metav1.Time `json:"time"`
	// Attempts is how many requests were sent.
	Attempts int32 `json:"attempts,omitempty"`
	// Message says why a delivery failed: the provider's status code or
	// the network error, never a secret.
	// +optional
	Message string `json:"message,omitempty"`
}

// ReasonDeliveryFailed: a Notification's last event could not be sent
// (the provider refused it, could not be reached, or its Secret could not
// be used); status.lastDelivery says why.
const ReasonDeliveryFailed = "DeliveryFailed"
