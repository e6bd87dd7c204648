package inventory

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjMetadata names one object of a cluster. Namespace is empty for
// cluster-scoped objects; Group is empty for the core group.
type ObjMetadata struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Identity is what makes two ObjMetadata the same object: all but the
// version. It is comparable, so it can key a map.
type Identity struct {
	Group, Kind, Namespace, Name string
}

// FromObject names obj as it is: its apiVersion, kind, namespace and name.
// It does not default the namespace; callers that apply objects record the
// namespace the object was applied in.
func FromObject(obj *unstructured.Unstructured) ObjMetadata {
	gvk := obj.GroupVersionKind()
	return ObjMetadata{
		Group:     gvk.Group,
		Version:   gvk.Version,
		Kind:      gvk.Kind,
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
	}
}

// Identity returns the version-free identity of o.
func (o ObjMetadata) Identity() Identity {
	return Identity{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// GroupVersionKind returns o's group, version and kind.
func (o ObjMetadata) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: o.Group, Version: o.Version, Kind: o.Kind}
}

// GroupKind returns o's group and kind.
func (o ObjMetadata) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: o.Group, Kind: o.Kind}
}

// String is the short form people read in messages, as kubectl writes it:
// "Deployment/shop/web" for a namespaced object, "Namespace/shop" for a
// cluster-scoped one. It leaves the group out; use ID where two kinds of the
// same name in different groups must be told apart.
func (o ObjMetadata) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// ID is the stable string form of o's identity:
// "<group>/<kind>/<namespace>/<name>", with an empty group for the core
// group and an empty namespace for cluster-scoped objects, for example
// "apps/Deployment/shop/web", "/ConfigMap/shop/settings" or
// "/Namespace//shop". The version is left out (see Key). No field can hold a
// "/" (Kubernetes forbids it in every one of them), so ParseID reverses it.
func (o ObjMetadata) ID() string {
	return o.Group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// ErrInvalidID is returned by ParseID for a string that ID cannot have made.
var ErrInvalidID = errors.New("invalid inventory ID")

// ParseID reverses ID. The result has no version.
func ParseID(id string) (ObjMetadata, error) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return ObjMetadata{}, fmt.Errorf("%w %q: want <group>/<kind>/<namespace>/<name>", ErrInvalidID, id)
	}
	return ObjMetadata{Group: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]}, nil
}
