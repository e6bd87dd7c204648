package server

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// adminAccess lets everyone do everything; for tests of routing only.
type adminAccess struct{ register func(*http.ServeMux) }

func (a adminAccess) Authenticate(*http.Request) (Caller, error) { return admin{}, nil }
func (a adminAccess) Register(mux *http.ServeMux) {
	if a.register != nil {
		a.register(mux)
	}
}

type admin struct{}

func (admin) Name() string            { return "admin" }
func (admin) Can(_, _, _ string) bool { return true }

func newTestServer(t *testing.T, access Access) *Server {
	t.Helper()
	opts := DefaultOptions()
	opts.Config = &rest.Config{Host: "https://127.0.0.1:1"}
	opts.Access = access
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// documented is every method and path of the OpenAPI document.
func documented(doc map[string]any) map[string]bool {
	out := map[string]bool{}
	for path, ops := range doc["paths"].(map[string]map[string]any) {
		for method := range ops {
			out[strings.ToUpper(method)+" "+path] = true
		}
	}
	return out
}

// TestOpenAPIMatchesRoutes: every route the server registers is in the
// document, and every route of the document is served, by exactly the
// pattern the document names.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := newTestServer(t, adminAccess{register: registerExternalForTest})
	doc := documented(s.openAPI())
	for _, rt := range s.routes() {
		if !doc[rt.pattern()] {
			t.Errorf("route %s is not in the OpenAPI document", rt.pattern())
		}
	}
	mux := s.mux()
	var ops []string
	for op := range doc {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		url := strings.NewReplacer("{namespace}", "ns", "{name}", "n").Replace(path)
		_, pattern := mux.Handler(httptest.NewRequest(method, url, nil))
		if pattern != op {
			t.Errorf("the document lists %s, but the server routes it to %q", op, pattern)
		}
	}
	if n := len(s.routes()) + len(externalRoutes); len(doc) != n {
		t.Errorf("the document has %d operations, the server %d", len(doc), n)
	}
}

// TestOpenAPISchemas: request and response bodies name their schemas, and
// every $ref resolves.
func TestOpenAPISchemas(t *testing.T) {
	s := newTestServer(t, adminAccess{})
	doc := s.openAPI()
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, want := range []string{"v1alpha1.Application", "wire.List_v1alpha1.Application", "wire.SyncRequest", "wire.Error", "v1.ObjectMeta"} {
		if _, ok := schemas[want]; !ok {
			t.Errorf("no schema %s among %d", want, len(schemas))
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, found := schemas[strings.TrimPrefix(ref, "#/components/schemas/")]; !found {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case map[string]map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}
