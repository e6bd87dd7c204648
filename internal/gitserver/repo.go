package gitserver

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Mode is the git file mode of a tree entry.
type Mode string

// The file modes a commit can hold.
const (
	ModeFile       Mode = "100644"
	ModeExecutable Mode = "100755"
	// ModeSymlink makes an entry a symbolic link whose target is its Content.
	ModeSymlink Mode = "120000"
	// ModeSubmodule makes an entry a submodule (a gitlink) whose Content is
	// the commit SHA it points to.
	ModeSubmodule Mode = "160000"
)

// Entry is one path of a commit's tree.
type Entry struct {
	Path    string
	Content string
	Mode    Mode // empty means ModeFile
}

// Repo is a bare repository on disk. Its methods fail the test on error.
type Repo struct {
	// Dir is the bare repository's folder.
	Dir string
	// Name is its path below the root folder, as servers expose it.
	Name string

	t       testing.TB
	mu      sync.Mutex
	commits int
}

// NewRepo creates an empty bare repository named name (for example
// "org/config.git") below root, with HEAD pointing at branch main.
func NewRepo(t testing.TB, root, name string) *Repo {
	t.Helper()
	clean := filepath.ToSlash(filepath.Clean(name))
	if name == "" || filepath.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
		t.Fatalf("gitserver: repository name %q must be a relative path inside the root", name)
	}
	r := &Repo{Dir: filepath.Join(root, filepath.FromSlash(clean)), Name: clean, t: t}
	if err := os.MkdirAll(filepath.Dir(r.Dir), 0o755); err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	if _, err := runGit("", nil, nil, "init", "--quiet", "--bare", "--initial-branch=main", "--", r.Dir); err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	return r
}

// Commit makes a commit on branch whose tree holds exactly files (path to
// content, regular files), on top of the branch's current tip if it has one.
// It returns the new commit's SHA.
func (r *Repo) Commit(branch string, files map[string]string) string {
	r.t.Helper()
	entries := make([]Entry, 0, len(files))
	for p, c := range files {
		entries = append(entries, Entry{Path: p, Content: c})
	}
	return r.CommitEntries(branch, entries)
}

// CommitEntries is Commit with control over file modes: executables,
// symbolic links and submodules.
func (r *Repo) CommitEntries(branch string, entries []Entry) string {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commits++
	scratch := r.t.TempDir()
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(scratch, "index")}
	index := r.indexLines(scratch, entries)
	if len(index) > 0 {
		r.gitIn(env, index, "update-index", "--add", "--index-info")
	}
	tree := r.git(env, "write-tree")
	args := []string{"commit-tree", tree, "-m", fmt.Sprintf("commit %d", r.commits)}
	old := r.tip(branch)
	if old != "" {
		args = append(args, "-p", old)
	}
	// A fixed clock, one second per commit, keeps SHAs distinct and stable.
	date := fmt.Sprintf("@%d +0000", 1767225600+r.commits)
	commit := r.git(append(env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date), args...)
	r.git(nil, "update-ref", "refs/heads/"+branch, commit, old)
	if len(entries) >= packFiles {
		// A git host keeps a large push as the pack it came in
		// (receive.unpackLimit, 100 objects) and packs the rest as it
		// goes; served from loose objects, a shallow fetch of 5,000 files
		// took this server 1.9 s instead of 0.1 s, a cost no real host
		// makes its clients wait for. An incremental repack packs only
		// what is loose, so a commit that changes one of many files costs
		// little.
		r.git(nil, "repack", "-d", "-q")
	}
	return commit
}

// packFiles is the size of a commit, in files, past which the repository's
// loose objects are packed.
const packFiles = 100

// CommitSigned is Commit with a signature: sign gets the commit object as
// git signs it and returns an armored signature (OpenPGP or SSH), which is
// written into the commit's gpgsig header as `git commit -S` does. It
// returns the signed commit's SHA.
func (r *Repo) CommitSigned(branch string, files map[string]string, sign func(payload []byte) (armored []byte)) string {
	r.t.Helper()
	unsigned := r.Commit(branch, files)
	payload := r.git(nil, "cat-file", "commit", unsigned) + "\n"
	header, message, ok := strings.Cut(payload, "\n\n")
	if !ok {
		r.t.Fatalf("gitserver: commit %s has no message", unsigned)
	}
	sig := strings.TrimRight(string(sign([]byte(payload))), "\n")
	signed := header + "\ngpgsig " + strings.ReplaceAll(sig, "\n", "\n ") + "\n\n" + message
	commit := r.gitIn(nil, []byte(signed), "hash-object", "-t", "commit", "-w", "--stdin")
	r.git(nil, "update-ref", "refs/heads/"+branch, commit, unsigned)
	return commit
}

// indexLines writes the blobs of entries and returns the input of
// `git update-index --index-info` that places them.
func (r *Repo) indexLines(scratch string, entries []Entry) []byte {
	r.t.Helper()
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	var paths []string
	for i, e := range entries {
		if e.Mode == ModeSubmodule {
			continue
		}
		p := filepath.Join(scratch, fmt.Sprintf("blob-%d", i))
		if err := os.WriteFile(p, []byte(e.Content), 0o600); err != nil {
			r.t.Fatalf("gitserver: %v", err)
		}
		paths = append(paths, p)
	}
	var blobs []string
	if len(paths) > 0 {
		out := r.gitIn(nil, []byte(strings.Join(paths, "\n")+"\n"), "hash-object", "-w", "--no-filters", "--stdin-paths")
		blobs = strings.Fields(out)
	}
	var buf bytes.Buffer
	for _, e := range entries {
		mode, object := e.Mode, ""
		if mode == "" {
			mode = ModeFile
		}
		if mode == ModeSubmodule {
			object = e.Content
		} else {
			object, blobs = blobs[0], blobs[1:]
		}
		fmt.Fprintf(&buf, "%s %s\t%s\n", mode, object, e.Path)
	}
	return buf.Bytes()
}

// Branch points branch at commit, creating or moving it.
func (r *Repo) Branch(name, commit string) {
	r.t.Helper()
	r.git(nil, "update-ref", "refs/heads/"+name, commit)
}

// Tag creates a lightweight tag.
func (r *Repo) Tag(name, commit string) {
	r.t.Helper()
	r.git(nil, "update-ref", "refs/tags/"+name, commit)
}

// AnnotatedTag creates an annotated tag pointing at commit and returns the
// SHA of the tag object (not of the commit).
func (r *Repo) AnnotatedTag(name, commit, message string) string {
	r.t.Helper()
	r.git(nil, "tag", "--annotate", "--message", message, "--", name, commit)
	return r.git(nil, "rev-parse", "--verify", "refs/tags/"+name)
}

// DeleteBranch removes a branch.
func (r *Repo) DeleteBranch(name string) {
	r.t.Helper()
	r.git(nil, "update-ref", "-d", "refs/heads/"+name)
}

// DeleteTag removes a tag.
func (r *Repo) DeleteTag(name string) {
	r.t.Helper()
	r.git(nil, "update-ref", "-d", "refs/tags/"+name)
}

// SetHead makes branch the repository's default branch.
func (r *Repo) SetHead(branch string) {
	r.t.Helper()
	r.git(nil, "symbolic-ref", "HEAD", "refs/heads/"+branch)
}

// Head returns the commit SHA at the tip of branch.
func (r *Repo) Head(branch string) string {
	r.t.Helper()
	sha := r.tip(branch)
	if sha == "" {
		r.t.Fatalf("gitserver: %s has no branch %q", r.Name, branch)
	}
	return sha
}

// tip returns the tip of branch, or "" if there is no such branch.
func (r *Repo) tip(branch string) string {
	out, err := runGit(r.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func (r *Repo) git(env []string, args ...string) string {
	r.t.Helper()
	return r.gitIn(env, nil, args...)
}

func (r *Repo) gitIn(env []string, stdin []byte, args ...string) string {
	r.t.Helper()
	out, err := runGit(r.Dir, env, stdin, args...)
	if err != nil {
		r.t.Fatalf("gitserver: %s: %v", r.Name, err)
	}
	return strings.TrimSpace(out)
}

// runGit runs git on the bare repository dir with a clean environment.
func runGit(dir string, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env = append(gitEnv(dir), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// gitEnv is the environment of every git process this package starts: no
// system or global configuration, a fixed identity, and git dir dir when
// it is not empty.
func gitEnv(dir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
		"GIT_AUTHOR_NAME=Flotilla Test",
		"GIT_AUTHOR_EMAIL=test@flotilla.invalid",
		"GIT_COMMITTER_NAME=Flotilla Test",
		"GIT_COMMITTER_EMAIL=test@flotilla.invalid",
	}
	if dir != "" {
		env = append(env, "GIT_DIR="+dir)
	}
	return env
}
