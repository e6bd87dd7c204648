// Package version holds Flotilla's own version, stamped in at build time:
//
//	go build -ldflags "-X github.com/flotilla-dev/flotilla/internal/version.Version=v0.1.0"
package version

import "runtime/debug"

// Version is Flotilla's release, or "dev" for an unstamped build.
var Version = "dev"

// Info is what `flotilla version` reports.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Get returns the version of this binary.
func Get() Info {
	info := Info{Version: Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	return info
}
