package source

import (
	"regexp"
	"strconv"
	"strings"
)

// Bounds of the text of git, ssh or a server kept in an error's Detail.
// git's own last lines say why it failed, but what it prints may carry what
// a server wrote: `remote error: …` lines (a git server's ERR packet), an
// ssh server's stderr, which ssh passes through unmarked. So it is kept as
// an excerpt only: a few lines and bytes, printable ASCII, without
// credentials or anything that looks like one.
const (
	maxDetailLines = 2
	maxLineBytes   = 120
	// maxDetailBytes bounds what scrub returns.
	maxDetailBytes = maxDetailLines*(maxLineBytes+len("…")) + len("; ")
	// Secrets shorter than this are not searched and replaced, which would
	// mangle the message; a detail that contains one is withheld instead.
	minReplaceableSecret = 4
)

var (
	userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s'"]*@`)
	// credentialRE finds a value after a word that names a credential, as
	// in "token=…", "password: …" or "Bearer …".
	credentialRE = regexp.MustCompile(`(?i)\b(password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|bearer|basic|authorization)(\s*[:=]\s*|\s+)[^\s'"]+`)
	// opaqueRE finds runs that look like keys or tokens: long, letters and
	// digits mixed (a commit SHA, all hex, is kept).
	opaqueRE = regexp.MustCompile(`[A-Za-z0-9_+=]{20,}`)
)

// scrub turns the error output of git (or of a library) into a short Detail
// that is safe to show:
//   - lines from the server ("remote: …") are dropped, so an error never
//     echoes what a remote sent in them;
//   - lines naming an Authorization header are dropped;
//   - userinfo in URLs is masked, every secret is replaced by "***", and so
//     is whatever looks like a credential (a value after "token=",
//     "password:", "Bearer", and long runs of mixed letters and digits);
//   - anything but printable ASCII becomes '?', and only the last
//     maxDetailLines lines are kept, each cut to maxLineBytes.
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
	for i, line := range kept {
		var ok bool
		if kept[i], ok = scrubLine(line, secrets); !ok {
			return "(details withheld: they may contain a credential)"
		}
	}
	return strings.Join(kept, "; ")
}

// scrubLine masks credentials in one line, makes it printable ASCII and
// cuts it to maxLineBytes. ok is false when the line holds a secret too
// short to replace safely.
func scrubLine(s string, secrets []string) (_ string, ok bool) {
	s = userinfoRE.ReplaceAllString(s, "${1}***@")
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if len(secret) < minReplaceableSecret {
			if strings.Contains(s, secret) {
				return "", false
			}
			continue
		}
		s = strings.ReplaceAll(s, secret, "***")
	}
	s = credentialRE.ReplaceAllString(s, "${1}${2}***")
	s = opaqueRE.ReplaceAllStringFunc(s, maskOpaque)
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
	if len(s) > maxLineBytes {
		s = s[:maxLineBytes] + "…"
	}
	return s, true
}

// maskOpaque hides a run that mixes letters and digits, unless it is a
// hexadecimal object name, which errors about revisions need.
func maskOpaque(run string) string {
	if isHex(run) || !strings.ContainsAny(run, "0123456789") || strings.IndexFunc(run, isLetter) < 0 {
		return run
	}
	return "***"
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// quoteExcerpt marks a scrubbed excerpt as someone else's words.
func quoteExcerpt(s string) string { return strconv.Quote(s) }

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
