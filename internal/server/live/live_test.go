package live

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSanitize: a Secret leaves without its values, managedFields and the
// annotation that may repeat them; other kinds keep their data.
func TestSanitize(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{
			"name": "db", "namespace": "shop",
			"annotations":   map[string]any{lastApplied: `{"data":{"password":"c2VjcmV0"}}`, "team": "a"},
			"managedFields": []any{map[string]any{"manager": "flotilla"}},
		},
		"data":       map[string]any{"password": "c2VjcmV0"},
		"stringData": map[string]any{"user": "admin"},
	}}
	got := Sanitize(secret).Object
	want := map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{
			"name": "db", "namespace": "shop",
			"annotations": map[string]any{lastApplied: SecretMask, "team": "a"},
		},
		"data":       map[string]any{"password": SecretMask},
		"stringData": map[string]any{"user": SecretMask},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Sanitize(Secret) (-want +got):\n%s", d)
	}
	if secret.Object["data"].(map[string]any)["password"] != "c2VjcmV0" {
		t.Error("Sanitize changed its argument")
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"},
		"data": map[string]any{"k": "v"},
	}}
	if d := cmp.Diff(cm.Object, Sanitize(cm).Object); d != "" {
		t.Errorf("Sanitize(ConfigMap) changed it:\n%s", d)
	}
}

// TestRedactor: values, their base64 form and the lines of a multi-line
// value are masked; short values are not; a longer value holding a shorter
// one is masked whole.
func TestRedactor(t *testing.T) {
	r := newRedactor([]string{"hunter22", "aHVudGVyMjI=", "ok", "-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----", "AAAABBBBCCCC", "hunter22-long"})
	for in, want := range map[string]string{
		"password hunter22 set":   "password ++++++++ set",
		"b64 aHVudGVyMjI=":        "b64 ++++++++",
		"ok fine":                 "ok fine",
		"key line AAAABBBBCCCC\n": "key line ++++++++\n",
		"hunter22-long!":          "++++++++!",
	} {
		if got := r.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (redactor{}).mask("anything"); got != "anything" {
		t.Errorf("the zero redactor changed text: %q", got)
	}
}

// TestCopyMasked: lines are masked one by one, also a last line without a
// newline and lines longer than the buffer.
func TestCopyMasked(t *testing.T) {
	r := newRedactor([]string{"s3cr3t-value"})
	long := strings.Repeat("x", maxLine+10)
	in := "a s3cr3t-value\n" + long + "\nend s3cr3t-value"
	var out bytes.Buffer
	if err := copyMasked(&out, strings.NewReader(in), r, false); err != nil {
		t.Fatal(err)
	}
	want := "a ++++++++\n" + long + "\nend ++++++++"
	if out.String() != want {
		t.Errorf("copyMasked: got %d bytes, want %d; masked: %v", out.Len(), len(want), !strings.Contains(out.String(), "s3cr3t"))
	}
}

// TestPickContainer: a named container must be the pod's; none named is
// fine only for a pod of one container.
func TestPickContainer(t *testing.T) {
	pod := func(names ...string) map[string]any {
		var cs []any
		for _, n := range names {
			cs = append(cs, map[string]any{"name": n})
		}
		return map[string]any{"spec": map[string]any{"containers": cs, "initContainers": []any{map[string]any{"name": "init"}}}}
	}
	cases := []struct {
		pod     map[string]any
		name    string
		want    string
		wantErr error
	}{
		{pod("web"), "", "", ErrBadRequest}, // init + web: two containers
		{pod("web", "sidecar"), "sidecar", "sidecar", nil},
		{pod("web", "sidecar"), "init", "init", nil},
		{pod("web", "sidecar"), "other", "", ErrBadRequest},
		{map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "only"}}}}, "", "only", nil},
	}
	for _, c := range cases {
		got, err := pickContainer(c.pod, c.name)
		if got != c.want || !errors.Is(err, c.wantErr) && (err != nil || c.wantErr != nil) {
			t.Errorf("pickContainer(%q) = %q, %v; want %q, %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}
