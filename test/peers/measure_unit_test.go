package peers

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestRepositoryShape: every folder holds the four objects, named after it,
// and a Namespace only for Flux; no two folders share a name.
func TestRepositoryShape(t *testing.T) {
	for _, withNamespace := range []bool{false, true} {
		tree := repository(3, withNamespace)
		want := 4
		if withNamespace {
			want = 5
		}
		if len(tree) != 3*want {
			t.Fatalf("namespace=%v: %d files, want %d", withNamespace, len(tree), 3*want)
		}
		seen := map[string]string{}
		for path, content := range tree {
			var obj struct {
				Kind     string
				Metadata struct{ Name, Namespace string }
			}
			if err := yaml.Unmarshal([]byte(content), &obj); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			dir := path[:strings.LastIndexByte(path, '/')]
			if !strings.HasSuffix(dir, obj.Metadata.Name) {
				t.Errorf("%s: %s %q is not named after its folder", path, obj.Kind, obj.Metadata.Name)
			}
			if withNamespace && obj.Kind != "Namespace" && obj.Metadata.Namespace != obj.Metadata.Name {
				t.Errorf("%s: namespace %q, want %q", path, obj.Metadata.Namespace, obj.Metadata.Name)
			}
			key := obj.Kind + "/" + obj.Metadata.Name
			if other, ok := seen[key]; ok {
				t.Errorf("%s and %s both hold %s", path, other, key)
			}
			seen[key] = path
		}
	}
}

// TestProcStatsReadsThisProcess: peak RSS and CPU time come from /proc.
func TestProcStatsReadsThisProcess(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // some CPU time to read
	}
	rss, cpu, err := procStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || cpu <= 0 {
		t.Errorf("procStats = %d bytes, %.2f s; want both above zero", rss, cpu)
	}
}

// TestTableRatios: the table divides each tool's medians by Flotilla's.
func TestTableRatios(t *testing.T) {
	order = []string{"flux-c20", configFlotilla}
	defer func() { order = nil }()
	runs := map[string][]sample{
		"flux-c20":     {{ready: 200 * time.Second, peakRSS: 400 << 20, cpu: 300, writes: 6000}, {ready: 240 * time.Second, peakRSS: 400 << 20, cpu: 300, writes: 6000}, {ready: 300 * time.Second, peakRSS: 400 << 20, cpu: 300, writes: 6000}},
		configFlotilla: {{ready: 20 * time.Second, synced: 15 * time.Second, peakRSS: 100 << 20, cpu: 30, writes: 5000}},
	}
	var out bytes.Buffer
	printTable(&out, 1000, runs)
	if !strings.Contains(out.String(), "| flux-c20 | 3 | 240.0 | – | 400 | 300.0 | 6000 | 12.0× | 4.0× | 10.0× | 1.2× |") {
		t.Errorf("table:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| flotilla | 1 | 20.0 | 15.0 | 100 |") {
		t.Errorf("table:\n%s", out.String())
	}
}
