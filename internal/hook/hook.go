package hook

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Phase is the part of a sync an object belongs to.
type Phase string

const (
	// PreSync hooks run, and must complete, before anything of the Sync
	// phase is applied (database migrations, for example).
	PreSync Phase = "PreSync"
	// Sync is the phase of ordinary objects, applied wave by wave.
	Sync Phase = "Sync"
	// PostSync hooks run once every wave is applied and healthy.
	PostSync Phase = "PostSync"
	// SyncFail hooks run when a hook or a wave fails.
	SyncFail Phase = "SyncFail"
)

// Phases is the order of a sync that succeeds; SyncFail runs instead of what
// is left when a step fails.
var Phases = []Phase{PreSync, Sync, PostSync}

// DeletePolicy says when a hook object is deleted.
type DeletePolicy string

const (
	// BeforeHookCreation deletes the hook's object of an earlier sync just
	// before the next one is created: the default, so that the last run
	// stays around to be read.
	BeforeHookCreation DeletePolicy = "BeforeHookCreation"
	// HookSucceeded deletes the object once it completed.
	HookSucceeded DeletePolicy = "HookSucceeded"
	// HookFailed deletes the object once it failed.
	HookFailed DeletePolicy = "HookFailed"
)

// Annotations Flotilla reads, its own first.
const (
	PhaseAnnotation        = "flotilla.dev/phase"
	WaveAnnotation         = "flotilla.dev/wave"
	DeletePolicyAnnotation = "flotilla.dev/hook-delete-policy"

	ArgoHookAnnotation         = "argocd.argoproj.io/hook"
	ArgoWaveAnnotation         = "argocd.argoproj.io/sync-wave"
	ArgoDeletePolicyAnnotation = "argocd.argoproj.io/hook-delete-policy"

	HelmHookAnnotation         = "helm.sh/hook"
	HelmWeightAnnotation       = "helm.sh/hook-weight"
	HelmDeletePolicyAnnotation = "helm.sh/hook-delete-policy"
)

// maxAnnotation bounds what is read of one annotation's value.
const maxAnnotation = 256

// Spec is when an object is applied within a sync.
type Spec struct {
	Phase Phase
	Wave  int
	// Hook is true for an object created afresh at each sync that changes
	// something, rather than applied and owned: every PreSync, PostSync and
	// SyncFail object, and objects Argo CD's annotation makes Sync hooks.
	Hook bool
	// Skip is true for an object no sync applies: Argo CD's Skip, Helm hooks
	// of events other than install and upgrade (delete, rollback, test).
	Skip bool
	// DeletePolicies apply to hooks; BeforeHookCreation when none is given.
	DeletePolicies []DeletePolicy
}

// Deletes says whether the hook's object is deleted on p.
func (s Spec) Deletes(p DeletePolicy) bool { return slices.Contains(s.DeletePolicies, p) }

// Of reads the Spec of u from its annotations.
func Of(u *unstructured.Unstructured) (Spec, error) {
	ann := u.GetAnnotations()
	s := Spec{Phase: Sync}
	var err error
	switch {
	case ann[PhaseAnnotation] != "":
		err = s.readFlotilla(ann[PhaseAnnotation])
	case ann[ArgoHookAnnotation] != "":
		err = s.readArgo(ann[ArgoHookAnnotation])
	case ann[HelmHookAnnotation] != "":
		err = s.readHelm(ann[HelmHookAnnotation])
	}
	if err != nil {
		return Spec{}, err
	}
	if s.Wave, err = wave(ann); err != nil {
		return Spec{}, err
	}
	if s.Hook {
		if s.DeletePolicies, err = deletePolicies(ann); err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

// IsHook says whether u's annotations make it a hook (or an object no sync
// applies), without reading the rest: metadata.generateName is allowed for
// such objects only.
func IsHook(u *unstructured.Unstructured) bool {
	s, err := Of(u)
	return err == nil && (s.Hook || s.Skip)
}

func (s *Spec) readFlotilla(v string) error {
	switch p := Phase(strings.TrimSpace(v)); p {
	case PreSync, PostSync, SyncFail:
		s.Phase, s.Hook = p, true
	case Sync:
	default:
		return annotationError(PhaseAnnotation, v, "is not PreSync, Sync, PostSync or SyncFail")
	}
	return nil
}

// readArgo reads argocd.argoproj.io/hook: a list, of which Flotilla runs the
// first phase it knows. A Sync hook is a hook too: created afresh in its
// wave. PostDelete hooks run when an Application is deleted, which Flotilla
// does not do yet: they are skipped, as Skip is.
func (s *Spec) readArgo(v string) error {
	for _, part := range split(v) {
		switch p := Phase(part); p {
		case PreSync, Sync, PostSync, SyncFail:
			s.Phase, s.Hook = p, true
			return nil
		case "Skip", "PostDelete":
			s.Skip = true
		default:
			return annotationError(ArgoHookAnnotation, v, "names "+strconv.Quote(part)+", not PreSync, Sync, PostSync, SyncFail, Skip or PostDelete")
		}
	}
	return nil
}

// readHelm maps helm.sh/hook's events: pre-install and pre-upgrade run
// before the sync (PreSync), post-install and post-upgrade after it
// (PostSync). A hook of other events only (delete, rollback, test) has no
// place in a sync and is skipped.
func (s *Spec) readHelm(v string) error {
	pre, post := false, false
	for _, ev := range split(v) {
		switch ev {
		case "pre-install", "pre-upgrade":
			pre = true
		case "post-install", "post-upgrade":
			post = true
		case "pre-delete", "post-delete", "pre-rollback", "post-rollback", "test", "test-success", "test-failure":
		default:
			return annotationError(HelmHookAnnotation, v, "names the unknown event "+strconv.Quote(ev))
		}
	}
	switch {
	case pre:
		s.Phase, s.Hook = PreSync, true
	case post:
		s.Phase, s.Hook = PostSync, true
	default:
		s.Skip = true
	}
	return nil
}

// wave reads flotilla.dev/wave, else Argo CD's sync-wave, else Helm's
// hook-weight (which only means something on a Helm hook).
func wave(ann map[string]string) (int, error) {
	key := ""
	for _, k := range []string{WaveAnnotation, ArgoWaveAnnotation} {
		if ann[k] != "" {
			key = k
			break
		}
	}
	if key == "" && ann[HelmHookAnnotation] != "" && ann[HelmWeightAnnotation] != "" {
		key = HelmWeightAnnotation
	}
	if key == "" {
		return 0, nil
	}
	v := ann[key]
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, annotationError(key, v, "is not an integer")
	}
	return int(n), nil
}

// helmPolicies maps Helm's delete policies onto Flotilla's.
var helmPolicies = map[string]DeletePolicy{
	"before-hook-creation": BeforeHookCreation,
	"hook-succeeded":       HookSucceeded,
	"hook-failed":          HookFailed,
}

func deletePolicies(ann map[string]string) ([]DeletePolicy, error) {
	var out []DeletePolicy
	switch {
	case ann[DeletePolicyAnnotation] != "" || ann[ArgoDeletePolicyAnnotation] != "":
		key := DeletePolicyAnnotation
		if ann[key] == "" {
			key = ArgoDeletePolicyAnnotation
		}
		for _, part := range split(ann[key]) {
			switch p := DeletePolicy(part); p {
			case BeforeHookCreation, HookSucceeded, HookFailed:
				out = append(out, p)
			default:
				return nil, annotationError(key, ann[key], "names "+strconv.Quote(part)+", not BeforeHookCreation, HookSucceeded or HookFailed")
			}
		}
	case ann[HelmDeletePolicyAnnotation] != "":
		v := ann[HelmDeletePolicyAnnotation]
		for _, part := range split(v) {
			p, ok := helmPolicies[part]
			if !ok {
				return nil, annotationError(HelmDeletePolicyAnnotation, v, "names "+strconv.Quote(part)+", not before-hook-creation, hook-succeeded or hook-failed")
			}
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []DeletePolicy{BeforeHookCreation}
	}
	return out, nil
}

func split(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func annotationError(key, value, why string) error {
	if len(value) > maxAnnotation {
		value = value[:maxAnnotation] + "…"
	}
	return fmt.Errorf("annotation %s: %q %s", key, value, why)
}
