package diff

import "encoding/base64"

// LastAppliedAnnotation is where `kubectl apply` keeps its copy of the whole
// object it applied. It is dropped from every object: it duplicates the
// object (a Secret's data included), and Flotilla applies server-side.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// serverSetMetadata are the metadata fields the API server sets by itself.
// They change on writes that change nothing the user asked for, so they are
// never a difference:
//   - managedFields: who set what, with times;
//   - resourceVersion, generation: counters of writes;
//   - uid, creationTimestamp, selfLink: set once at creation (selfLink is no
//     longer set, but old objects may still carry it);
//   - deletionTimestamp, deletionGracePeriodSeconds: set when a deletion
//     starts; the object's state is shown, not its deletion.
var serverSetMetadata = []string{
	"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// ServerSetMetadata returns the metadata fields the API server sets by itself
// (see serverSetMetadata), for callers that strip them from what they send.
func ServerSetMetadata() []string { return append([]string(nil), serverSetMetadata...) }

// Normalize drops from obj, in place, what is never a difference between a
// desired and a live object: status, the server-set metadata, the
// last-applied annotation, and empty labels or annotations. The apply
// manager uses it to decide that a dry-run changes nothing, so that "no
// difference" means the same there and in a diff.
func Normalize(obj map[string]any) { normalize(obj) }

// normalize drops from obj what is never a difference: status (written by
// controllers, not by the user), the server-set metadata above and the
// last-applied annotation; and labels or annotations left empty or null,
// which mean the same as none.
func normalize(obj map[string]any) {
	delete(obj, "status")
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return
	}
	for _, f := range serverSetMetadata {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, LastAppliedAnnotation)
	}
	for _, f := range []string{"annotations", "labels"} {
		if v, ok := md[f]; ok && (v == nil || isEmpty(v)) {
			delete(md, f)
		}
	}
}

// foldStringData does to a Secret what the API server does on a write:
// every stringData entry becomes a base64-encoded data entry, replacing a
// data entry of the same key, and stringData goes away. A desired Secret
// given with stringData then compares equal to the live Secret that stores
// the same values in data. A stringData or data that is not an object is
// left as it is; masking hides it whole.
func foldStringData(obj map[string]any) {
	sd, ok := obj["stringData"].(map[string]any)
	if !ok {
		return
	}
	data, ok := obj["data"].(map[string]any)
	if !ok {
		if obj["data"] != nil {
			return
		}
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			v = base64.StdEncoding.EncodeToString([]byte(s))
		}
		data[k] = v
	}
	delete(obj, "stringData")
	if len(data) > 0 {
		obj["data"] = data
	}
}
