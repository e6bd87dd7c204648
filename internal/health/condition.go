package health

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// Condition is a CEL expression over `self` (an object as a map) that must
// be true, with the same language and bounds as a health check. It is safe
// for concurrent use.
type Condition struct {
	expr    string
	program cel.Program
	run     Checks
}

// CompileCondition compiles expr, which must return a bool, with opts
// (zero fields take their defaults).
func CompileCondition(expr string, opts CheckOptions) (*Condition, error) {
	opts = opts.withDefaults()
	env, err := newEnv(opts)
	if err != nil {
		return nil, err
	}
	prg, err := compile(env, expr, opts)
	if err != nil {
		return nil, err
	}
	return &Condition{expr: expr, program: prg, run: Checks{opts: opts}}, nil
}

// String is the expression.
func (c *Condition) String() string { return c.expr }

// Holds evaluates the condition on obj within its cost and time limits. An
// evaluation that fails or returns anything but a bool is an error.
func (c *Condition) Holds(ctx context.Context, obj map[string]any) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("evaluation failed: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeoutCause(ctx, c.run.opts.Timeout, fmt.Errorf("stopped: time limit of %s exceeded", c.run.opts.Timeout))
	defer cancel()
	out, _, err := c.program.ContextEval(ctx, map[string]any{"self": obj})
	if err != nil {
		return false, c.run.evalError(ctx, err)
	}
	b, isBool := out.(types.Bool)
	if !isBool {
		return false, errors.New("returned " + out.Type().TypeName() + ", want bool")
	}
	return bool(b), nil
}
