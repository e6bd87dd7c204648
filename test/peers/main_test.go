package peers

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

var (
	flotillaBin string
	// peersBin is the folder of the Flux binaries and their CRDs.
	peersBin string
	// apps is how many folders, Kustomizations or Applications.
	apps = 100
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Without -bench nothing here runs: build nothing either.
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	if err := configure(); err != nil {
		fmt.Fprintln(os.Stderr, "test/peers:", err)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "flotilla-peers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flotillaBin, err = harness.BuildFlotilla(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	printTable(os.Stdout, apps, recorded)
	os.Exit(code)
}

func configure() error {
	peersBin = os.Getenv("FLOTILLA_PEERS_BIN")
	if peersBin == "" {
		return fmt.Errorf("FLOTILLA_PEERS_BIN is not set: run `make bench-peers`, or hack/peers/build.sh and export the folder it prints")
	}
	if v := os.Getenv("FLOTILLA_PEERS_APPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("FLOTILLA_PEERS_APPS=%q: want a number from 1 to 10000", v)
		}
		apps = n
	}
	return nil
}
