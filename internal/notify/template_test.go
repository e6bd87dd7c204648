package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestTemplateRenders(t *testing.T) {
	tmpl, err := CompileTemplate(`{{.Name}} {{.Subject}} on {{.Cluster}} at {{shortSHA .Revision}}{{if .Object}} ({{.Object}}){{end}}: {{trunc 20 .Message}} {{upper .Severity}} {{default "-" .Fleet}} {{.Time.Format "15:04"}}`)
	if err != nil {
		t.Fatal(err)
	}
	ev := failed()
	got, err := tmpl.Execute(context.Background(), ev.normalize(ev.Time))
	if err != nil {
		t.Fatal(err)
	}
	want := "SyncFailed Application/shop-eu on eu at 0123456789ab (Deployment/shop/web): Deployment/shop/w… ERROR shop 03:04"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestTemplateRefused(t *testing.T) {
	for _, text := range []string{
		`{{range 1000000000}}x{{end}}`,
		`{{define "x"}}{{end}}`,
		`{{block "b" .}}{{end}}`,
		`{{template "message" .}}`,
		`{{$x := .Name}}{{$x}}`,
		`{{printf "%0999999999d" 1}}`,
		`{{print .Name}}`,
		`{{call .Name}}`,
		`{{slice .Message 1}}`,
		`{{html .Message}}`,
		`{{.Name`,
		strings.Repeat("x", MaxTemplateSize+1),
	} {
		if _, err := CompileTemplate(text); !errors.Is(err, ErrTemplate) {
			t.Errorf("%.40q: %v, want refused", text, err)
		}
	}
}

func TestTemplateOutputBounded(t *testing.T) {
	ev := failed()
	ev.Message = strings.Repeat("é", maxMessageField) // 2 bytes a rune
	ev = ev.normalize(ev.Time)
	if len(ev.Message) > maxMessageField {
		t.Fatalf("message of %d bytes kept", len(ev.Message))
	}
	// 128 copies of a 4 KiB message: 512 KiB asked, 4 KiB given.
	tmpl, err := CompileTemplate(strings.Repeat("{{.Message}}", 128))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Execute(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxMessageSize || len(got) < MaxMessageSize-8 || !strings.HasSuffix(got, "…") {
		t.Errorf("output of %d bytes (suffix %q), want about %d ending in an ellipsis", len(got), got[len(got)-6:], MaxMessageSize)
	}
	if !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Error("output cut inside a rune")
	}
}

func TestTemplateMissingField(t *testing.T) {
	tmpl, err := CompileTemplate(`{{.Nope}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Execute(context.Background(), failed()); !errors.Is(err, ErrTemplate) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestValidate(t *testing.T) {
	n := notification("n", flotillav1Provider("webhook", "https://hooks.example.com/x"), "SyncFailed")
	if err := Validate(n.Spec); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	bad := n.DeepCopy()
	bad.Spec.Events = []string{"SyncFailed", "Nope"}
	bad.Spec.Template = "{{range .}}{{end}}"
	bad.Spec.Provider.URL = "file:///etc/passwd"
	err := Validate(bad.Spec)
	for _, want := range []string{"spec.events[1]", "spec.template", "spec.provider.url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
	gh := notification("n", flotillav1Provider("github", ""), "SyncFailed")
	gh.Spec.Provider.SecretRef = nil
	if err := Validate(gh.Spec); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("github without a Secret: %v", err)
	}
}
