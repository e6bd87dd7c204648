package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/internal/version"
)

const openAPIPath = "/api/v1/openapi.json"

func (s *Server) openAPIRoute() route {
	return route{method: "GET", path: openAPIPath, verb: "authenticated", summary: "This document",
		response: map[string]any{}, handle: s.serveOpenAPI}
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ Caller) error {
	writeJSON(w, http.StatusOK, s.openAPI())
	return nil
}

// openAPI is the OpenAPI 3 document of every route: the server's own (from
// the same table the mux is built from) and those the packages it mounts
// serve (externalRoutes).
func (s *Server) openAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]map[string]any{}
	add := func(rt route) {
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = g.operation(rt)
	}
	for _, rt := range s.routes() {
		add(rt)
	}
	for _, rt := range externalRoutes {
		add(rt)
	}
	g.ref(reflect.TypeOf(wire.Error{}))
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Flotilla API", "version": version.Version},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "flotilla_session"},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
	}
}

// externalRoutes are served by what the server mounts: authentication
// (auth), push webhooks (webhook), and its own health and metrics.
var externalRoutes = []route{
	{method: "GET", path: "/api/v1/settings", verb: "public", summary: "What the login page needs", response: wire.Settings{}},
	{method: "POST", path: "/api/v1/session", verb: "public", summary: "Log in", body: wire.LoginRequest{}, response: wire.Token{}},
	{method: "GET", path: "/api/v1/session", verb: "authenticated", summary: "Who is logged in", response: wire.Session{}},
	{method: "DELETE", path: "/api/v1/session", verb: "authenticated", summary: "Log out"},
	{method: "POST", path: "/api/v1/session/exchange", verb: "public", summary: "Trade a CLI single sign-on code for a token", body: wire.ExchangeRequest{}, response: wire.Token{}},
	{method: "PUT", path: "/api/v1/account/password", verb: "authenticated (local account)", summary: "Change the password", body: wire.PasswordChange{}},
	{method: "GET", path: "/auth/login", verb: "public", summary: "Single sign-on: to the OpenID provider", query: []string{"return"}},
	{method: "GET", path: "/auth/callback", verb: "public", summary: "Single sign-on: the provider's redirect", query: []string{"code", "state"}},
	{method: "POST", path: "/api/webhook", verb: "the provider's signature or token", summary: "A Git push"},
	{method: "POST", path: "/api/webhook/oci", verb: "token", summary: "A pushed OCI artifact or Helm chart"},
	{method: "GET", path: "/healthz", verb: "public", summary: "Liveness"},
	{method: "GET", path: "/readyz", verb: "public", summary: "Readiness: the informers have synced"},
	{method: "GET", path: "/metrics", verb: "public", summary: "Prometheus metrics"},
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

func (g *schemaGen) operation(rt route) map[string]any {
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.query {
		params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
	}
	op := map[string]any{
		"summary":         rt.summary,
		"description":     "Authorization: " + rt.verb,
		"operationId":     rt.method + " " + rt.path,
		"x-flotilla-verb": rt.verb,
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.body != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.body))}}}
	}
	status := "200"
	if rt.status != 0 {
		status = strconv.Itoa(rt.status)
	}
	ok := map[string]any{"description": "success"}
	switch {
	case rt.path == "/api/v1/stream":
		ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": g.ref(reflect.TypeOf(rt.response))}}
	case strings.HasSuffix(rt.path, "/logs"):
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
	case rt.response != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.response))}}
	}
	op["responses"] = map[string]any{status: ok, "default": map[string]any{"description": "an error",
		"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/wire.Error"}}}}}
	return op
}

// schemaGen derives JSON schemas from Go types, one component per named
// struct.
type schemaGen struct{ components map[string]any }

var (
	timeType     = reflect.TypeOf(time.Time{})
	metaTimeType = reflect.TypeOf(metav1.Time{})
	durationType = reflect.TypeOf(metav1.Duration{})
	intstrType   = reflect.TypeOf(intstr.IntOrString{})
	anyJSONType  = reflect.TypeOf(apiextensionsv1.JSON{})
	rawType      = reflect.TypeOf(json.RawMessage{})
	pkgPath      = regexp.MustCompile(`[\w.\-]+(/[\w.\-]+)*/(\w+)\.`)
)

func componentName(t reflect.Type) string {
	name := pkgPath.ReplaceAllString(t.Name(), "$2.")
	name = strings.NewReplacer("[", "_", "]", "", ",", "_").Replace(name)
	pkg := t.PkgPath()
	return pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
}

// ref is the schema of t: a $ref for a named struct, inline otherwise.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	switch t {
	case timeType, metaTimeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "string", "example": "5m"}
	case intstrType:
		return map[string]any{"x-kubernetes-int-or-string": true}
	case anyJSONType, rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.ref(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Struct:
		name := componentName(t)
		if _, ok := g.components[name]; !ok {
			g.components[name] = map[string]any{} // placeholder: recursion stops here
			g.components[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// object is the schema of a struct's JSON fields; inline and embedded
// structs add theirs.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.fields(ft, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.ref(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
