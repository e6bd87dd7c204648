package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of Flotilla's resources.
var GroupVersion = schema.GroupVersion{Group: "flotilla.dev", Version: "v1alpha1"}

// AddToScheme registers Flotilla's types with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Application{}, &ApplicationList{},
		&Cluster{}, &ClusterList{},
		&Project{}, &ProjectList{},
		&Fleet{}, &FleetList{},
		&Notification{}, &NotificationList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
