package render

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Estimated heap bytes of the parts of a decoded object, as Go lays them
// out on 64-bit machines: an interface or string header is 16 bytes; a map
// keeps its entries (a key and a value header, and a control byte) in
// groups of 8 slots, at least one group and at most 7/8 full.
const (
	sizeHeader  = 16
	sizeMap     = 48
	sizeMapSlot = 2*sizeHeader + 1
	sizeSlice   = 24
	sizeObject  = 64 // an *unstructured.Unstructured and its slot in a Result
)

// resultSize estimates the memory a Result's objects hold, for the render
// cache's byte limit. It walks each object once; a value shared between
// objects (never the case in a rendered Result) would count each time.
func resultSize(res *Result) int64 {
	var n int64
	for _, u := range res.Objects {
		n += objectSize(u)
	}
	return n
}

func objectSize(u *unstructured.Unstructured) int64 {
	return sizeObject + valueSize(u.Object)
}

// valueSize estimates the memory of a JSON-style value: what its interface
// points to, not the interface itself (its holder counts that).
func valueSize(v any) int64 {
	switch t := v.(type) {
	case map[string]any:
		n := sizeMap + mapSlots(len(t))*sizeMapSlot
		for k, item := range t {
			n += textSize(k) + valueSize(item)
		}
		return n
	case []any:
		n := int64(sizeSlice)
		for _, item := range t {
			n += sizeHeader + valueSize(item)
		}
		return n
	case string:
		return sizeHeader + textSize(t)
	case int64, float64, int, int32, float32, uint64:
		return 8
	}
	return 0
}

// mapSlots is how many slots a map of n entries has.
func mapSlots(n int) int64 {
	slots := int64(8)
	for slots*7/8 < int64(n) {
		slots *= 2
	}
	return slots
}

// textSize is the memory of a string's bytes: allocations come in multiples
// of 8 bytes.
func textSize(s string) int64 {
	return (int64(len(s)) + 7) &^ 7
}
