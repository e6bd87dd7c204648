package peers

import (
	"fmt"
	"testing"
)

// BenchmarkPeers runs the same workload through Flux at kustomize-controller
// concurrency 4 (its default) and 20, and through Flotilla, each in a
// fresh cluster; TestMain prints the table of medians and ratios.
func BenchmarkPeers(b *testing.B) {
	for _, concurrency := range []int{4, 20} {
		config := fmt.Sprintf("flux-c%d", concurrency)
		b.Run(config, func(b *testing.B) {
			for b.Loop() {
				s, err := runFlux(b, concurrency)
				if err != nil {
					b.Fatal(err)
				}
				record(b, config, s)
			}
		})
	}
	b.Run(configFlotilla, func(b *testing.B) {
		for b.Loop() {
			s, err := runFlotilla(b)
			if err != nil {
				b.Fatal(err)
			}
			record(b, configFlotilla, s)
		}
	})
}
