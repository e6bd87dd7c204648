package source

import (
	"regexp"
	"strings"
	"unicode"
)

// Bounds of the git output kept in an error's Detail.
const (
	maxDetailLines = 6
	maxDetailBytes = 600
	// Secrets shorter than this are not searched and replaced, which would
	// mangle the message; a detail that contains one is withheld instead.
	minReplaceableSecret = 4
)

var userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s'"]*@`)

// scrub turns git's error output into a short Detail that is safe to show:
//   - lines from the server ("remote: …") are dropped, so an error never
//     echoes what a remote sent;
//   - lines naming an Authorization header are dropped;
//   - userinfo in URLs is masked and every secret is replaced by "***";
//   - unprintable characters become '?', and only the last lines are kept.
func scrub(stderr string, secrets []string) string {
	var kept []string
	lines := strings.FieldsFunc(stderr, func(r rune) bool { return r == '\n' || r == '\r' })
	for _, line := range lines {
		line = strings.TrimSpace(line)
		lower := strings.ToLower(line)
		if line == "" || strings.HasPrefix(lower, "remote:") || strings.Contains(lower, "authorization") || noise(lower) {
			continue
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "fatal: "), "error: ")
		kept = append(kept, line)
	}
	if len(kept) > maxDetailLines {
		kept = kept[len(kept)-maxDetailLines:]
	}
	s := userinfoRE.ReplaceAllString(strings.Join(kept, "; "), "${1}***@")
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if len(secret) < minReplaceableSecret {
			if strings.Contains(s, secret) {
				return "(details withheld: they may contain a credential)"
			}
			continue
		}
		s = strings.ReplaceAll(s, secret, "***")
	}
	s = strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if len(s) > maxDetailBytes {
		s = "…" + strings.ToValidUTF8(s[len(s)-maxDetailBytes:], "")
	}
	return s
}

// noiseMarkers are lines of ssh's and git's advice that say nothing about
// the failure, or name local files.
var noiseMarkers = []string{
	"ssh-keygen", "remove with:", "offending ", "add correct host key", "please contact your system administrator",
	"someone could be eavesdropping", "it is also possible that a host key", "the fingerprint for",
	"it is possible that someone", "please make sure you have the correct access rights",
	"and the repository exists",
}

func noise(lower string) bool {
	if strings.HasPrefix(lower, "@") || strings.HasPrefix(lower, "sha256:") {
		return true
	}
	for _, m := range noiseMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}
