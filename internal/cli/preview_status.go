package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// statusTokenEnv holds the token of --post-status: a token in a flag would
// show in the process list and the shell's history.
const statusTokenEnv = "FLOTILLA_STATUS_TOKEN"

// statusFlags are --post-status and its companions.
type statusFlags struct {
	provider, url, repo, sha string
}

func (s *statusFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.provider, "post-status", "", "set a commit status with the summary: github, gitlab or gitea (token in $"+statusTokenEnv+")")
	f.StringVar(&s.url, "status-url", "", "the API's base URL: for github https://api.github.com (the default) or https://HOST/api/v3, for gitlab and gitea the server's URL")
	f.StringVar(&s.repo, "repo", "", "with --post-status: the repository, owner/name")
	f.StringVar(&s.sha, "sha", "", "with --post-status: the commit (default: --revision when it is a full commit SHA, else the commit the preview resolved it to)")
	_ = cmd.RegisterFlagCompletionFunc("post-status", cobra.FixedCompletions([]string{"github", "gitlab", "gitea"}, cobra.ShellCompDirectiveNoFileComp))
}

// statusPost is the commit status to set once the preview is done, all
// but its state and description.
type statusPost struct {
	st notify.CommitStatus
}

// request checks the flags before any preview runs; nil when no status
// is asked for. A revision that is a full commit SHA is the commit the
// status goes to when --sha is not given, so that a preview that fails
// before it resolves anything still reports on it.
func (s *statusFlags) request(name, revision string) (*statusPost, error) {
	if s.provider == "" {
		if s.url != "" || s.repo != "" || s.sha != "" {
			return nil, errors.New("--status-url, --repo and --sha go with --post-status")
		}
		return nil, nil
	}
	switch s.provider {
	case "github", "gitlab", "gitea":
	default:
		return nil, fmt.Errorf("--post-status %q: want github, gitlab or gitea", s.provider)
	}
	if s.repo == "" {
		return nil, errors.New("--post-status needs --repo owner/name")
	}
	token := strings.TrimSpace(os.Getenv(statusTokenEnv))
	if token == "" {
		return nil, fmt.Errorf("--post-status needs a token in $%s", statusTokenEnv)
	}
	sha := s.sha
	if sha == "" && source.IsCommitID(revision) {
		sha = revision
	}
	st := notify.CommitStatus{
		Provider: s.provider, BaseURL: s.url, Repo: s.repo, SHA: strings.ToLower(sha),
		Context: "flotilla/preview/" + name, Token: token,
	}
	if err := st.CheckTarget(); err != nil {
		return nil, fmt.Errorf("--post-status: %w", err)
	}
	return &statusPost{st: st}, nil
}

// send sets the status of the preview p, or of its failure err.
func (sp *statusPost) send(ctx context.Context, p *wire.FleetPreview, err error) error {
	st := sp.st
	st.State, st.Description = previewStatus(p, err)
	if st.SHA == "" {
		if st.SHA = resolvedCommit(p); st.SHA == "" {
			return errors.New("--sha is needed: the preview resolved no single commit")
		}
	}
	// The user named the address: loopback (a forwarded port) is fine.
	return notify.SetCommitStatus(ctx, st, notify.AddressRule{AllowLoopback: true})
}

// previewStatus is the state and description of a preview's commit
// status: success when every cluster can be previewed, whether or not it
// would change (a pull request is there to change something); failure
// when some cluster cannot (its sync would fail too); error when the
// preview itself failed.
func previewStatus(p *wire.FleetPreview, err error) (state, description string) {
	if err != nil {
		return notify.StateError, "preview failed: " + oneLine(err.Error())
	}
	state = notify.StateSuccess
	for _, c := range p.Clusters {
		if c.Error != "" {
			state = notify.StateFailure
		}
	}
	return state, previewLine(p)
}

// previewLine is a whole preview in one line: clusters by outcome, the
// objects' counts, and the first cluster's error.
func previewLine(p *wire.FleetPreview) string {
	var change, same, failed, create, update, del int
	firstErr := ""
	for _, c := range p.Clusters {
		if c.Error != "" {
			failed++
			if firstErr == "" {
				firstErr = c.Cluster + ": " + oneLine(c.Error)
			}
			continue
		}
		cr, up, de := previewCounts(c)
		create, update, del = create+cr, update+up, del+de
		if cr+up+de > 0 {
			change++
		} else {
			same++
		}
	}
	clusters := "clusters"
	if len(p.Clusters) == 1 {
		clusters = "cluster"
	}
	line := fmt.Sprintf("%d %s: %d would change, %d unchanged, %d in error (%d to create, %d to update, %d to delete)",
		len(p.Clusters), clusters, change, same, failed, create, update, del)
	if firstErr != "" {
		line += "; " + firstErr
	}
	return line
}

// resolvedCommit is the commit every previewed cluster resolved the
// revision to, or "" when they differ or none did.
func resolvedCommit(p *wire.FleetPreview) string {
	if p == nil {
		return ""
	}
	commit := ""
	for _, c := range p.Clusters {
		switch {
		case c.Revision == "":
		case commit == "":
			commit = c.Revision
		case commit != c.Revision:
			return ""
		}
	}
	return commit
}
