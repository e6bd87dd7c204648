package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestFleetRefreshListsAnewOnce: a Fleet's new refresh token asks for one
// listing of its own; later looks at the same token (rollout polls, status
// changes of its Applications) share listings, and so does a Fleet never
// refreshed. A deleted Fleet's token is forgotten.
func TestFleetRefreshListsAnewOnce(t *testing.T) {
	r := &revisionResolver{}
	f := &flotillav1.Fleet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	if r.refreshed(f) {
		t.Error("a Fleet without a refresh token asked for a listing of its own")
	}
	f.Annotations = map[string]string{flotillav1.RefreshAnnotation: "1"}
	if !r.refreshed(f) {
		t.Error("a new refresh token was not answered with a listing of its own")
	}
	if r.refreshed(f) {
		t.Error("the same refresh token was answered twice")
	}
	f.Annotations[flotillav1.RefreshAnnotation] = "2"
	if !r.refreshed(f) {
		t.Error("a second refresh was not answered")
	}
	r.forget(client.ObjectKeyFromObject(f))
	if !r.refreshed(f) {
		t.Error("a Fleet created again under the same name inherited the old token")
	}
}
