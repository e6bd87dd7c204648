package diff

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Strip returns obj without the fields that matching rules name by JSON
// pointer, or obj itself when no rule matches; obj is never changed. The
// engine applies stripped objects, so that an ignored field (an HPA's
// replicas, a webhook's injection) is left to whoever else owns it instead
// of being forced back at every sync. Rules that name field managers strip
// nothing: there is no live object to read them from here.
func (d *Differ) Strip(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil || len(d.rules) == 0 {
		return obj
	}
	rules, _ := matching(d.rules, KeyOf(obj))
	if len(rules) == 0 {
		return obj
	}
	out := obj.DeepCopy()
	for _, r := range rules {
		for _, p := range r.pointers {
			remove(out.Object, pointerSteps(p))
		}
	}
	return out
}
