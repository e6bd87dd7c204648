package source_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/flotilla-dev/flotilla/internal/source"
)

// A checkout of a branch of a local repository. Real callers use https://
// or ssh:// URLs and leave AllowLocal off.
func ExampleClient_Fetch() {
	repo, cleanup, err := exampleRepo()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()

	opts := source.DefaultOptions()
	opts.AllowLocal = true
	c, err := source.New(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	art, err := c.Fetch(context.Background(), source.GitRequest{URL: "file://" + repo, Revision: "main"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer art.Release()
	data, err := os.ReadFile(filepath.Join(art.Dir, "app.yaml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(art.Ref)
	fmt.Print(string(data))
	// Output:
	// refs/heads/main
	// replicas: 3
}

// exampleRepo makes a repository with one commit on main.
func exampleRepo() (string, func(), error) {
	dir, err := os.MkdirTemp("", "flotilla-example-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("replicas: 3\n"), 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "app.yaml"},
		{"-c", "user.name=Example", "-c", "user.email=example@flotilla.invalid", "commit", "--quiet", "-m", "first"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("git %v: %w: %s", args, err, out)
		}
	}
	return dir, cleanup, nil
}
