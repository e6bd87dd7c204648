package controller

import (
	"strings"
	"testing"
)

// TestShardID: a given ID is kept if it makes a valid Lease name; the
// default is hostname-pid, made a valid name.
func TestShardID(t *testing.T) {
	tests := []struct {
		id      string
		want    string // "" for the default
		wantErr bool
	}{
		{id: "flotilla-0", want: "flotilla-0"},
		{id: "r1", want: "r1"},
		{id: "Upper", wantErr: true},
		{id: "has space", wantErr: true},
		{id: strings.Repeat("x", 250), wantErr: true},
		{id: ""},
	}
	for _, tt := range tests {
		got, err := shardID(tt.id)
		if (err != nil) != tt.wantErr {
			t.Errorf("shardID(%q): error %v, want error %v", tt.id, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("shardID(%q) = %q, want %q", tt.id, got, tt.want)
		}
		if tt.id == "" && got == "" {
			t.Errorf("shardID(\"\") gave no default")
		}
	}
}

func TestDNSLabel(t *testing.T) {
	tests := map[string]string{
		"Node-1.Example.COM": "node-1-example-com",
		"_weird_":            "weird",
		"ok":                 "ok",
	}
	for in, want := range tests {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
