package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// maxBody bounds every request body the API reads (a kubeconfig, an
// Application); the limit applies before anything is parsed.
const maxBody = 1 << 20

// decode reads a JSON body of at most maxBody bytes into v; unknown fields
// are refused, so that a typo is an error, not a silent default.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, false)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badRequest("Content-Type %q: want application/json", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			if optional {
				return nil
			}
			return badRequest("the request body is empty")
		}
		return badRequest("the request body is not valid: %v", err)
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value")
	}
	return nil
}

// The views copy an object before they change it: the objects of the store
// are shared with the informers. They set apiVersion and kind, which the
// informers leave out, and drop managedFields.
func appView(a flotillav1.Application) flotillav1.Application {
	a.APIVersion, a.Kind = flotillav1.GroupVersion.String(), "Application"
	a.ManagedFields = nil
	return a
}

func clusterView(c flotillav1.Cluster) flotillav1.Cluster {
	c.APIVersion, c.Kind = flotillav1.GroupVersion.String(), "Cluster"
	c.ManagedFields = nil
	return c
}

func fleetView(f flotillav1.Fleet) flotillav1.Fleet {
	f.APIVersion, f.Kind = flotillav1.GroupVersion.String(), "Fleet"
	f.ManagedFields = nil
	return f
}

func projectView(p flotillav1.Project) flotillav1.Project {
	p.APIVersion, p.Kind = flotillav1.GroupVersion.String(), "Project"
	p.ManagedFields = nil
	return p
}

// view is the view of any of the store's objects.
func view(obj client.Object) client.Object {
	switch o := obj.(type) {
	case *flotillav1.Application:
		v := appView(*o)
		return &v
	case *flotillav1.Cluster:
		v := clusterView(*o)
		return &v
	case *flotillav1.Fleet:
		v := fleetView(*o)
		return &v
	case *flotillav1.Project:
		v := projectView(*o)
		return &v
	}
	return obj
}

// pathKey reads {namespace} and {name} of a route.
func pathKey(r *http.Request) (namespace, name string) {
	return r.PathValue("namespace"), r.PathValue("name")
}

// metaObject is the metadata of the objects the API writes.
type metaObject = metav1.ObjectMeta

// decodeOptional is decode for a body that may be left out.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, true)
}
