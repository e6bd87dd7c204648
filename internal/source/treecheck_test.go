package source_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// plumb runs git in the bare repository dir with stdin and returns its
// trimmed output.
func plumb(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// fanOut commits, on branch main of repo, a tree of depth levels in which
// each tree holds width entries named e0, e1, … that are all the same
// object: the same blob at the bottom. The repository stays a few
// kilobytes; its checkout holds width^depth copies of the blob.
func fanOut(t *testing.T, repo *gitserver.Repo, blob string, width, depth int) string {
	t.Helper()
	obj := plumb(t, repo.Dir, blob, "hash-object", "-w", "--stdin")
	mode, kind := "100644", "blob"
	for range depth {
		var lines strings.Builder
		for i := range width {
			fmt.Fprintf(&lines, "%s %s %s\te%d\n", mode, kind, obj, i)
		}
		obj = plumb(t, repo.Dir, lines.String(), "mktree")
		mode, kind = "040000", "tree"
	}
	commit := plumb(t, repo.Dir, "", "commit-tree", obj, "-m", "fan out")
	plumb(t, repo.Dir, "", "update-ref", "refs/heads/main", commit)
	return commit
}

// gitLog returns a Client whose git records each command line in a file,
// and that file.
func gitLog(t *testing.T, edit func(*source.Options)) (*source.Client, string) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	argvLog := filepath.Join(bin, "argv.log")
	wrapper := filepath.Join(bin, "git")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + argvLog + "'\nexec '" + git + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return newClient(t, func(o *source.Options) {
		o.Git, o.AllowLocal = wrapper, true
		if edit != nil {
			edit(o)
		}
	}), argvLog
}

// TestCheckoutSizeCheckedFirst: a repository of a few kilobytes whose
// nested trees name one 1 MiB blob 512 times (512 MiB checked out) is
// refused before anything is checked out, as is a tree of 300,000 empty
// files; within the limits the same shapes are checked out.
func TestCheckoutSizeCheckedFirst(t *testing.T) {
	root := t.TempDir()
	bomb := gitserver.NewRepo(t, root, "bomb.git")
	fanOut(t, bomb, strings.Repeat("x", 1<<20), 8, 3)
	many := gitserver.NewRepo(t, root, "many.git")
	fanOut(t, many, "", 548, 2) // 300,304 empty files

	c, argvLog := gitLog(t, func(o *source.Options) { o.MaxCheckoutBytes = 64 << 20 })
	for _, tt := range []struct{ repo, want string }{
		{bomb.Dir, "add up to more than 67108864 bytes"},
		{many.Dir, "more than 10000 files"},
	} {
		_, err := c.Fetch(testContext(t), source.GitRequest{URL: "file://" + tt.repo})
		wantError(t, err, source.ErrTooLarge)
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %q does not say %q", err, tt.want)
		}
	}
	argv, err := os.ReadFile(argvLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(argv), "ls-tree") || strings.Contains(string(argv), " checkout ") {
		t.Errorf("git ran a checkout, or no ls-tree, for refused trees:\n%s", argv)
	}

	// The limits are on the files checked out: exactly at them is fine.
	small := gitserver.NewRepo(t, root, "small.git")
	sha := fanOut(t, small, strings.Repeat("y", 100<<10), 3, 2) // 9 files of 100 KiB, a pack of a few hundred bytes
	fits := newClient(t, func(o *source.Options) { o.AllowLocal, o.MaxCheckoutBytes, o.MaxCheckoutFiles = true, 900<<10, 9 })
	if art := fetch(t, fits, source.GitRequest{URL: "file://" + small.Dir}); art.Commit != sha || art.Size != 900<<10 {
		t.Errorf("checkout of 9 files = %s, %d bytes", art.Commit, art.Size)
	}
	for _, edit := range []func(*source.Options){
		func(o *source.Options) { o.MaxCheckoutFiles = 8 },
		func(o *source.Options) { o.MaxCheckoutBytes = 900<<10 - 1 },
	} {
		tight := newClient(t, func(o *source.Options) { o.AllowLocal = true; edit(o) })
		_, err := tight.Fetch(testContext(t), source.GitRequest{URL: "file://" + small.Dir})
		wantError(t, err, source.ErrTooLarge)
	}
}
