package webhook

import (
	"strings"

	"github.com/Masterminds/semver/v3"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// repoKey is a repository's identity for matching pushes to sources: host
// and port (a scheme's default port dropped), and path without a leading
// or trailing '/', without ".git", in lower case; credentials, scheme and
// query left out. https://Git.example.com/Org/r.git, ssh://git@git.example.com/org/r
// and git@git.example.com:org/r are one key. Paths are compared without
// case because the big hosts treat them so; two repositories that differ
// only in case would both be refreshed, which costs a fetch, nothing more.
// An empty key matches nothing.
func repoKey(raw string) string {
	u := repourl.Split(strings.TrimSpace(raw))
	var scheme string
	switch u.Form {
	case repourl.Scheme:
		scheme = strings.ToLower(u.Scheme)
		if scheme == "file" {
			return ""
		}
	case repourl.SCP:
		scheme = "ssh"
	default:
		return ""
	}
	host := strings.ToLower(repourl.WithoutDefaultPort(scheme, u.Host))
	path := u.Path
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	path = strings.Trim(path, "/")
	if host == "" || path == "" {
		return ""
	}
	return host + "/" + strings.ToLower(path)
}

// gitKeys are the keys of every URL a push names.
func gitKeys(p *push) map[string]bool {
	keys := map[string]bool{}
	for _, u := range p.urls {
		if k := repoKey(u); k != "" {
			keys[k] = true
		}
	}
	return keys
}

// matchesGit says whether a git source follows a ref that p moved.
func matchesGit(src *flotillav1.ApplicationSource, key string, p *push) bool {
	if src.Chart != "" || strings.HasPrefix(src.RepoURL, "oci://") || repoKey(src.RepoURL) != key {
		return false
	}
	return revisionMoved(strings.TrimSpace(src.TargetRevision), p)
}

// revisionMoved says whether rev may resolve differently after p: it names
// a pushed branch or tag, it is HEAD or empty and the default branch moved
// (any branch, when the payload does not say which is the default), or it
// is a semver range that a pushed tag satisfies.
func revisionMoved(rev string, p *push) bool {
	if rev == "" || rev == "HEAD" {
		for _, b := range p.branches {
			if p.defaultBranch == "" || b == p.defaultBranch {
				return true
			}
		}
		return false
	}
	for _, b := range p.branches {
		if rev == b || rev == "refs/heads/"+b {
			return true
		}
	}
	var constraint *semver.Constraints
	for _, t := range p.tags {
		if rev == t || rev == "refs/tags/"+t {
			return true
		}
		if constraint == nil {
			c, err := semver.NewConstraint(rev)
			if err != nil {
				continue
			}
			constraint = c
		}
		if v, err := semver.NewVersion(t); err == nil && constraint.Check(v) {
			return true
		}
	}
	return false
}

// matchesOCI says whether a source is the OCI repository key names: an
// artifact's repoURL, or a chart's repoURL and chart name.
func matchesOCI(src *flotillav1.ApplicationSource, key string) bool {
	if !strings.HasPrefix(src.RepoURL, "oci://") {
		return false
	}
	repo := src.RepoURL
	if src.Chart != "" {
		repo = strings.TrimSuffix(repo, "/") + "/" + src.Chart
	}
	return repoKey(repo) == key
}
