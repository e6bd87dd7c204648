package peers

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// sample is one run of one tool's configuration.
type sample struct {
	ready   time.Duration // from the first object created to all Ready
	synced  time.Duration // to all applied, when the tool tells it apart; else 0
	peakRSS int64         // bytes, summed over the tool's processes
	cpu     float64       // seconds of user and system time, summed
	writes  int           // write requests the tool sent, dry-runs left out
}

var (
	mu       sync.Mutex
	recorded = map[string][]sample{}
	// order is the order configurations ran in, for the table.
	order []string
)

// record reports s as the benchmark's metrics and keeps it for the table.
func record(b *testing.B, config string, s sample) {
	b.ReportMetric(s.ready.Seconds(), "s-to-ready")
	if s.synced > 0 {
		b.ReportMetric(s.synced.Seconds(), "s-to-synced")
	}
	b.ReportMetric(float64(s.peakRSS)/(1<<20), "MiB-peak-rss")
	b.ReportMetric(s.cpu, "cpu-s")
	b.ReportMetric(float64(s.writes), "writes")
	mu.Lock()
	defer mu.Unlock()
	if _, ok := recorded[config]; !ok {
		order = append(order, config)
	}
	recorded[config] = append(recorded[config], s)
}

// measure reads the tool's processes and the cluster's audit log at the
// moment every application is Ready.
func measure(ready time.Duration, c *localfleet.Cluster, pids []int, userAgents []string) (sample, error) {
	s := sample{ready: ready}
	for _, pid := range pids {
		rss, cpu, err := procStats(pid)
		if err != nil {
			return s, err
		}
		s.peakRSS += rss
		s.cpu += cpu
	}
	for _, ua := range userAgents {
		n, err := c.CountWrites(ua)
		if err != nil {
			return s, err
		}
		s.writes += n
	}
	return s, nil
}

// clockTicks is USER_HZ, the unit of times in /proc/PID/stat: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procStats reads a process's peak resident memory (VmHWM) and its user and
// system CPU time.
func procStats(pid int) (peakRSS int64, cpu float64, err error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("pid %d VmHWM: %w", pid, err)
			}
			peakRSS = kb << 10
		}
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15.
	end := strings.LastIndexByte(string(stat), ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("pid %d: unexpected /proc stat", pid)
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 13 {
		return 0, 0, fmt.Errorf("pid %d: unexpected /proc stat", pid)
	}
	for _, f := range fields[11:13] {
		ticks, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("pid %d stat: %w", pid, err)
		}
		cpu += float64(ticks) / clockTicks
	}
	return peakRSS, cpu, nil
}

// median of the samples, field by field.
func median(ss []sample) sample {
	pick := func(get func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return sample{
		ready:   time.Duration(pick(func(s sample) float64 { return float64(s.ready) })),
		synced:  time.Duration(pick(func(s sample) float64 { return float64(s.synced) })),
		peakRSS: int64(pick(func(s sample) float64 { return float64(s.peakRSS) })),
		cpu:     pick(func(s sample) float64 { return s.cpu }),
		writes:  int(pick(func(s sample) float64 { return float64(s.writes) })),
	}
}

// printTable writes the medians of every configuration as a Markdown table,
// with each one's time, memory, CPU and writes divided by Flotilla's.
func printTable(w io.Writer, n int, runs map[string][]sample) {
	if len(runs) == 0 {
		return
	}
	base, haveBase := runs[configFlotilla]
	var ref sample
	if haveBase {
		ref = median(base)
	}
	ratio := func(v, r float64) string {
		if !haveBase || r == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f×", v/r)
	}
	_, _ = fmt.Fprintf(w, "\n%d applications, medians (samples):\n\n", n)
	_, _ = fmt.Fprintln(w, "| tool | samples | s to all Ready | (of which to all applied) | MiB peak RSS | CPU s | writes | time ÷ Flotilla | RSS ÷ Flotilla | CPU ÷ Flotilla | writes ÷ Flotilla |")
	_, _ = fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, config := range order {
		m := median(runs[config])
		applied := "–"
		if m.synced > 0 {
			applied = fmt.Sprintf("%.1f", m.synced.Seconds())
		}
		_, _ = fmt.Fprintf(w, "| %s | %d | %.1f | %s | %.0f | %.1f | %d | %s | %s | %s | %s |\n",
			config, len(runs[config]), m.ready.Seconds(), applied, float64(m.peakRSS)/(1<<20), m.cpu, m.writes,
			ratio(m.ready.Seconds(), ref.ready.Seconds()), ratio(float64(m.peakRSS), float64(ref.peakRSS)),
			ratio(m.cpu, ref.cpu), ratio(float64(m.writes), float64(ref.writes)))
	}
}
