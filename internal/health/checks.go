package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ErrInvalidCheck is what every error of CompileChecks wraps.
var ErrInvalidCheck = errors.New("invalid health check")

// CheckError is one health check that does not compile.
type CheckError struct {
	// Index is the check's position in the list given to CompileChecks.
	Index int
	Group string
	Kind  string
	Err   error
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("healthChecks[%d] (%s): %v", e.Index, checkName(e.Group, e.Kind), e.Err)
}

// Unwrap returns the cause and ErrInvalidCheck.
func (e *CheckError) Unwrap() []error { return []error{ErrInvalidCheck, e.Err} }

// CheckOptions bound what user expressions may cost.
type CheckOptions struct {
	// CostLimit stops an evaluation past this many CEL cost units (roughly,
	// operations; a comprehension pays per element).
	CostLimit uint64
	// Timeout stops an evaluation that runs longer, whatever its cost.
	Timeout time.Duration
	// MaxExpressionLength refuses longer expressions at compile time, in
	// code points.
	MaxExpressionLength int
}

// DefaultCheckOptions returns a cost limit of 100,000, a 100ms time limit
// and expressions of at most 10,000 code points. The cost limit is a tenth
// of what Kubernetes gives a CRD validation rule, which may judge every
// element of a big object; a health check reads a few status fields (a
// look over ten conditions costs about 50). The time limit is the backstop:
// cel-go's cost tracking is slow in nested comprehensions (about 0.6µs a unit
// on a 2-core machine), so a hostile expression may meet it first.
func DefaultCheckOptions() CheckOptions {
	return CheckOptions{CostLimit: 100_000, Timeout: 100 * time.Millisecond, MaxExpressionLength: 10_000}
}

// Checks are custom health checks, compiled once and evaluated many times.
// A nil *Checks has no checks. It is safe for concurrent use.
//
// Each check is a CEL expression over `self`, the live object as a map (its
// apiVersion, kind, metadata, spec, status…), with CEL's standard functions
// and macros (has, exists, all, filter, map…); ints and doubles compare with
// each other. Its result decides the object's health:
//
//   - true: Healthy; false: Progressing (not healthy yet: like a Ready
//     condition that is False, it may still come; a health gate's timeout
//     decides how long to wait).
//   - a string, one of "Healthy", "Progressing", "Degraded", "Suspended",
//     "Unknown": that code. "Missing" is not accepted: the object exists.
//     For example: `self.status.phase == 'Failed' ? 'Degraded' :
//     (self.status.phase == 'Ready' ? 'Healthy' : 'Progressing')`.
//
// An expression whose type is known to be neither bool nor string is refused
// at compile time; one typed dyn (`self.status.ready`) is checked when it
// returns. An evaluation that fails (a missing field: guard with has()), runs
// past the cost or time limit, or returns anything else makes that object
// Unknown, with the reason in its message; other objects are not affected.
type Checks struct {
	byKind map[schema.GroupKind]*check
	opts   CheckOptions
}

type check struct {
	name    string // "example.com/Widget"
	program cel.Program
}

// CompileChecks compiles specs with opts (zero fields take their defaults).
// Every check that does not compile is reported, each as a *CheckError
// naming it; two checks for the same group and kind are refused too.
// Compiling costs some thirty evaluations (about 0.3ms against 10µs): do it
// once per Application generation, not per object.
func CompileChecks(specs []flotillav1.HealthCheck, opts CheckOptions) (*Checks, error) {
	opts = opts.withDefaults()
	if len(specs) == 0 {
		return &Checks{byKind: map[schema.GroupKind]*check{}, opts: opts}, nil
	}
	env, err := newEnv(opts)
	if err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	checks := &Checks{byKind: map[schema.GroupKind]*check{}, opts: opts}
	first := map[schema.GroupKind]int{}
	var errs []error
	for i, spec := range specs {
		gk := schema.GroupKind{Group: spec.Group, Kind: spec.Kind}
		fail := func(err error) {
			errs = append(errs, &CheckError{Index: i, Group: spec.Group, Kind: spec.Kind, Err: err})
		}
		if spec.Kind == "" {
			fail(errors.New("kind is empty"))
			continue
		}
		if j, dup := first[gk]; dup {
			fail(fmt.Errorf("healthChecks[%d] already checks this kind", j))
			continue
		}
		first[gk] = i
		prg, err := compile(env, spec.CEL, opts)
		if err != nil {
			fail(err)
			continue
		}
		checks.byKind[gk] = &check{name: checkName(spec.Group, spec.Kind), program: prg}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return checks, nil
}

func (o CheckOptions) withDefaults() CheckOptions {
	d := DefaultCheckOptions()
	if o.CostLimit == 0 {
		o.CostLimit = d.CostLimit
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxExpressionLength <= 0 {
		o.MaxExpressionLength = d.MaxExpressionLength
	}
	return o
}

func newEnv(opts CheckOptions) (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("self", cel.MapType(cel.StringType, cel.DynType)),
		cel.ParserExpressionSizeLimit(opts.MaxExpressionLength),
		cel.ParserRecursionLimit(100),
		cel.CrossTypeNumericComparisons(true),
	)
}

// compile parses, type-checks and plans one expression.
func compile(env *cel.Env, expr string, opts CheckOptions) (cel.Program, error) {
	if expr == "" {
		return nil, errors.New("cel is empty")
	}
	parsed, issues := env.Parse(expr)
	if issues.Err() != nil {
		return nil, fmt.Errorf("syntax error: %w", issues.Err())
	}
	checked, issues := env.Check(parsed)
	if issues.Err() != nil {
		return nil, fmt.Errorf("type error: %w", issues.Err())
	}
	switch out := checked.OutputType(); {
	case out.IsExactType(cel.BoolType), out.IsExactType(cel.StringType), out.IsExactType(cel.DynType):
	default:
		return nil, fmt.Errorf("returns %s, want bool or string", out)
	}
	prg, err := env.Program(checked,
		cel.CostLimit(opts.CostLimit),
		cel.InterruptCheckFrequency(100),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot plan: %w", err)
	}
	return prg, nil
}

// evaluate runs the check for obj's kind, if there is one.
func (c *Checks) evaluate(ctx context.Context, ref Ref, obj *unstructured.Unstructured) (Result, bool) {
	if c == nil {
		return Result{}, false
	}
	chk, ok := c.byKind[ref.GroupKind()]
	if !ok {
		return Result{}, false
	}
	code, said, err := c.run(ctx, chk, obj)
	if err != nil {
		why := fmt.Sprintf("health check %s: %v", chk.name, err)
		if ref.GroupKind() == secretGK {
			// CEL's errors may quote the values they choke on; a Secret's
			// values never go into a status.
			why = fmt.Sprintf("health check %s failed on this Secret", chk.name)
		}
		return newResult(ref, flotillav1.HealthUnknown, why), true
	}
	return newResult(ref, code, "health check "+chk.name+": "+said), true
}

// run evaluates chk on obj within the cost and time limits.
// said is what the check returned: true, false or the code.
func (c *Checks) run(ctx context.Context, chk *check, obj *unstructured.Unstructured) (code flotillav1.HealthStatusCode, said string, err error) {
	defer func() {
		// cel-go recovers its own panics; this one is for a bug in the
		// adapter between the object and CEL, so that it costs one object.
		if r := recover(); r != nil {
			code, said, err = "", "", fmt.Errorf("evaluation failed: %v", r)
		}
	}()
	timeLimit := fmt.Errorf("stopped: time limit of %s exceeded", c.opts.Timeout)
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.Timeout, timeLimit)
	defer cancel()
	out, _, err := chk.program.ContextEval(ctx, map[string]any{"self": obj.Object})
	if err != nil {
		return "", "", c.evalError(ctx, err)
	}
	return codeOf(out)
}

// evalError says why an evaluation failed, in the words of our limits when
// one of them stopped it.
func (c *Checks) evalError(ctx context.Context, err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return fmt.Errorf("stopped: cost limit of %d exceeded", c.opts.CostLimit)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// codeOf turns a check's result into a code.
func codeOf(out ref.Val) (flotillav1.HealthStatusCode, string, error) {
	switch v := out.(type) {
	case types.Bool:
		if v {
			return flotillav1.HealthHealthy, "true", nil
		}
		return flotillav1.HealthProgressing, "false", nil
	case types.String:
		code := flotillav1.HealthStatusCode(v)
		switch code {
		case flotillav1.HealthHealthy, flotillav1.HealthProgressing, flotillav1.HealthDegraded,
			flotillav1.HealthSuspended, flotillav1.HealthUnknown:
			return code, string(code), nil
		}
		// The value is not quoted: it may come from anywhere in the object.
		return "", "", errors.New("returned a string that is not Healthy, Progressing, Degraded, Suspended or Unknown")
	default:
		return "", "", fmt.Errorf("returned %s, want bool or string", out.Type().TypeName())
	}
}

func checkName(group, kind string) string {
	if group == "" {
		return kind
	}
	return group + "/" + kind
}
