package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Whatever a Notification's author writes, a template that compiles runs
// within its bounds: output at most MaxMessageSize bytes, and any failure
// is an ErrTemplate.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{
		"{{.Name}} {{.Subject}}",
		`{{if eq .Severity "error"}}!{{else}}.{{end}}{{trunc 3 .Message}}`,
		`{{with .Object}}{{upper .}}{{end}}{{default "x" .Fleet}}`,
		`{{index .Message 0}}{{len .Message}}{{.Time.Format "2006"}}`,
		`{{range 10}}{{end}}`,
		strings.Repeat("{{.Message}}", 200),
	} {
		f.Add(seed)
	}
	ev := failed()
	ev.Message = strings.Repeat("ab", 1000)
	ev = ev.normalize(ev.Time)
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := CompileTemplate(text)
		if err != nil {
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("compile error %v is not an ErrTemplate", err)
			}
			return
		}
		out, err := tmpl.Execute(context.Background(), ev)
		if err != nil && !errors.Is(err, ErrTemplate) {
			t.Fatalf("execute error %v is not an ErrTemplate", err)
		}
		if len(out) > MaxMessageSize {
			t.Fatalf("output of %d bytes", len(out))
		}
	})
}
