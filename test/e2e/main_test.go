package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flotilla-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	flotillaBin = filepath.Join(dir, "flotilla")
	build := exec.Command("go", "build", "-o", flotillaBin, "github.com/flotilla-dev/flotilla/cmd/flotilla")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build flotilla:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err = startHub(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the hub:", err)
		return 1
	}
	defer func() { _ = env.stopAll(nil) }()
	return m.Run()
}

// runCmd runs a program and returns its combined output, failing the test on
// a non-zero exit.
func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryCmd(name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return out
}

func tryCmd(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func kubectlBin() string { return filepath.Join(localfleet.DefaultBinDir(), "kubectl") }
