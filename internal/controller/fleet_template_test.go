package controller

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func stampPath(path string) (string, error) {
	f := &flotillav1.Fleet{Spec: flotillav1.FleetSpec{Template: flotillav1.FleetTemplate{
		Source: flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/fleet.git", Path: path},
	}}}
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "eu-1", Labels: map[string]string{"region": "EU-West", "tier": " gold "}}}
	spec, err := stampSpec(f, c)
	return spec.Source.Path, err
}

func TestFleetTemplateAllowed(t *testing.T) {
	cases := map[string]string{
		"plain/path":                                                                  "plain/path",
		"apps/{{ .Cluster.Name }}":                                                    "apps/eu-1",
		`r/{{ index .Cluster.Labels "region" }}`:                                      "r/EU-West",
		`r/{{ index .Cluster.Labels "missing" }}`:                                     "r/",
		`{{ index .Cluster.Labels "region" | lower }}`:                                "eu-west",
		`{{ index .Cluster.Labels "region" | upper | replace "-" "_" }}`:              "EU_WEST",
		`{{ index .Cluster.Labels "tier" | trimSpace }}`:                              "gold",
		`{{ .Cluster.Name | trimPrefix "eu-" }}{{ .Cluster.Name | trimSuffix "-1" }}`: "1eu",
		`{{ if eq .Cluster.Name "eu-1" }}first{{ else }}other{{ end }}`:               "first",
		`{{ if index .Cluster.Labels "none" }}x{{ else if .Cluster.Name }}y{{ end }}`: "y",
		`{{ print .Cluster.Name "-" (len .Cluster.Labels) }}`:                         "eu-1-2",
		`{{ slice .Cluster.Name 0 2 }}{{ $.Cluster.Name }}{{/* a comment */}}`:        "eueu-1",
	}
	for in, want := range cases {
		got, err := stampPath(in)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
}

// Everything that could loop, recurse or grow without bound is refused
// before the template runs, or stopped at the output limit, with the
// error that gives the Fleet its TemplateRefused condition.
func TestFleetTemplateRefused(t *testing.T) {
	cases := map[string]string{
		"{{ range 100000000 }}{{ end }}":                                                   "range is not allowed",
		"{{ range 100000 }}{{ range 100000 }}x{{ end }}{{ end }}":                          "range is not allowed",
		"{{ with .Cluster }}{{ .Name }}{{ end }}":                                          "with is not allowed",
		`{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}`:                    "define and block are not allowed",
		`{{ block "x" . }}{{ end }}`:                                                       "define and block are not allowed",
		`{{ template "y" }}`:                                                               "template is not allowed",
		`{{ $a := "x" }}{{ $a }}`:                                                          "variables are not allowed",
		`{{ printf "%01000000d%01000000d" 1 2 }}`:                                          `function "printf" is not allowed`,
		`{{ call .Cluster.Name }}`:                                                         `function "call" is not allowed`,
		`{{ html .Cluster.Name }}`:                                                         `function "html" is not allowed`,
		strings.Repeat("{{ .Cluster.Name }}", maxTemplateNodes):                            "more than 1000 template nodes",
		strings.Repeat("{{ .Cluster.Name }}", 90) + strings.Repeat("y", maxTemplateOutput): "more than 262144 bytes",
		nestedReplace(40):                                                                  "more than 262144 bytes",
	}
	for in, want := range cases {
		_, err := stampPath(in)
		if !errors.Is(err, errTemplateRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.80s: got %v, want a refusal saying %q", in, err, want)
		}
	}
}

// nestedReplace doubles a string n times: 2^n bytes if nothing stops it.
func nestedReplace(n int) string {
	return "{{ " + strings.Repeat(`replace "a" "aa" (`, n) + `"a"` + strings.Repeat(")", n) + " }}"
}

// The output limit holds for the whole template, across its strings.
func TestFleetTemplateLimitAcrossStrings(t *testing.T) {
	big := strings.Repeat("x", maxTemplateOutput/2) + "{{ .Cluster.Name }}"
	f := &flotillav1.Fleet{Spec: flotillav1.FleetSpec{Template: flotillav1.FleetTemplate{
		Source:      flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/fleet.git", Path: big, TargetRevision: big},
		Destination: flotillav1.FleetDestination{Namespace: big},
	}}}
	_, err := stampSpec(f, &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c"}})
	if !errors.Is(err, errTemplateRefused) {
		t.Fatalf("got %v, want the output limit", err)
	}
}
