package notify

import (
	"unicode/utf8"

	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// cut bounds s to n bytes, an ellipsis included, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	end := n - len(ellipsis)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	if end < 0 {
		end = 0
	}
	return s[:end] + ellipsis
}

// stripUserinfo drops the userinfo of a URL (a password or token written
// into a repository URL must not travel to a chat channel).
func stripUserinfo(s string) string {
	u := repourl.Split(s)
	if !u.HasUser {
		return s
	}
	u.User, u.HasUser = "", false
	return u.String()
}
