package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// refreshTimeout bounds one flush: listing and patching.
const refreshTimeout = 30 * time.Second

// refresh sets a new refresh token on every Application and Fleet in the
// namespace whose source w may have moved. A failure is logged: the
// interval is the safety net.
func (h *Handler) refresh(key string, w work) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	match := func(src *flotillav1.ApplicationSource) bool {
		for _, k := range w.keys {
			if w.git != nil && matchesGit(src, k, w.git) || w.git == nil && matchesOCI(src, k) {
				return true
			}
		}
		return false
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 10)
	apps, err := h.refreshApplications(ctx, match, token)
	if err != nil {
		h.opts.Log.Error("webhook refresh failed", "repository", key, "error", err)
	}
	fleets, err := h.refreshFleets(ctx, match, token)
	if err != nil {
		h.opts.Log.Error("webhook refresh failed", "repository", key, "error", err)
	}
	h.opts.Log.Info("webhook refresh", "repository", key, "applications", apps, "fleets", fleets)
}

func (h *Handler) refreshApplications(ctx context.Context, match func(*flotillav1.ApplicationSource) bool, token string) (int, error) {
	var list flotillav1.ApplicationList
	if err := h.opts.Hub.List(ctx, &list, client.InNamespace(h.opts.Namespace)); err != nil {
		return 0, fmt.Errorf("list Applications: %w", err)
	}
	var objs []client.Object
	for i := range list.Items {
		if match(&list.Items[i].Spec.Source) {
			objs = append(objs, &list.Items[i])
		}
	}
	return h.patchAll(ctx, "Application", objs, token)
}

func (h *Handler) refreshFleets(ctx context.Context, match func(*flotillav1.ApplicationSource) bool, token string) (int, error) {
	var list flotillav1.FleetList
	if err := h.opts.Hub.List(ctx, &list, client.InNamespace(h.opts.Namespace)); err != nil {
		return 0, fmt.Errorf("list Fleets: %w", err)
	}
	var objs []client.Object
	for i := range list.Items {
		if match(&list.Items[i].Spec.Template.Source) {
			objs = append(objs, &list.Items[i])
		}
	}
	return h.patchAll(ctx, "Fleet", objs, token)
}

// patchAll sets the refresh annotation on each object with a merge patch
// of that one annotation: it never conflicts and changes nothing else.
func (h *Handler) patchAll(ctx context.Context, kind string, objs []client.Object, token string) (int, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{flotillav1.RefreshAnnotation: token},
	}})
	if err != nil {
		return 0, err
	}
	slices.SortFunc(objs, func(a, b client.Object) int { return strings.Compare(a.GetName(), b.GetName()) })
	done := 0
	var errs []error
	for _, o := range objs {
		if err := h.opts.Hub.Patch(ctx, o, client.RawPatch(types.MergePatchType, patch)); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, o.GetName(), err))
			continue
		}
		done++
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("%d of %d not refreshed: %w", len(errs), len(objs), errors.Join(errs...))
	}
	return done, nil
}
