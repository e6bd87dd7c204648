package localfleet_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// BenchmarkStart measures the time from Start to every cluster serving (with
// a Ready node, for full clusters), and the resident memory one cluster takes
// once started. Run it with -benchtime=1x -count=N and read medians with
// benchstat (hack/bench.sh does).
func BenchmarkStart(b *testing.B) {
	for _, tc := range []struct {
		clusters int
		lean     bool
	}{{1, false}, {3, false}, {1, true}} {
		name := fmt.Sprintf("clusters=%d/lean=%v", tc.clusters, tc.lean)
		b.Run(name, func(b *testing.B) {
			var rss float64
			for b.Loop() {
				f, err := localfleet.Start(context.Background(), localfleet.Options{Clusters: tc.clusters, Lean: tc.lean})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				// Let the controllers settle before reading memory.
				time.Sleep(5 * time.Second)
				rss = float64(fleetRSS(b, f)) / float64(tc.clusters)
				if err := f.Stop(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(rss/(1<<20), "MiB-rss/cluster")
		})
	}
}

// fleetRSS sums the resident memory of every component of the fleet.
func fleetRSS(b *testing.B, f *localfleet.Fleet) int64 {
	var total int64
	for _, pid := range f.PIDs() {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			b.Fatal(err)
		}
		s := bufio.NewScanner(bytes.NewReader(data))
		for s.Scan() {
			var kb int64
			if n, _ := fmt.Sscanf(s.Text(), "VmRSS: %d kB", &kb); n == 1 {
				total += kb << 10
			}
		}
	}
	return total
}
