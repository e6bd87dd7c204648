package rollout

import (
	"context"
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

// Checks are the waves' CEL checks, compiled once per Fleet generation. A
// nil *Checks has none.
type Checks struct {
	byWave [][]*health.Condition
}

// CompileChecks compiles every wave's checks, naming the first that does
// not compile.
func CompileChecks(waves []flotillav1.RolloutWave) (*Checks, error) {
	c := &Checks{byWave: make([][]*health.Condition, len(waves))}
	some := false
	for i, w := range waves {
		for j, expr := range w.Checks {
			cond, err := health.CompileCondition(expr, health.CheckOptions{})
			if err != nil {
				return nil, fmt.Errorf("wave %s checks[%d]: %w", w.Name, j, err)
			}
			c.byWave[i] = append(c.byWave[i], cond)
			some = true
		}
	}
	if !some {
		return nil, nil
	}
	return c, nil
}

// Pass says whether every check of wave i holds for app, and if not, which.
func (c *Checks) Pass(i int, app map[string]any) (bool, string) {
	if c == nil || i >= len(c.byWave) {
		return true, ""
	}
	for _, cond := range c.byWave[i] {
		ok, err := cond.Holds(context.Background(), app)
		if err != nil {
			return false, fmt.Sprintf("check %q: %v", cond, err)
		}
		if !ok {
			return false, fmt.Sprintf("check %q is false", cond)
		}
	}
	return true, ""
}
