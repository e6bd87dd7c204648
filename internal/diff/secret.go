package diff

// The masks that stand for a Secret's values in every output. They are
// fixed strings, not hashes: all a reader may learn of a value is whether it
// is the same on both sides, and the masks say just that.
//
// A hash would tell more. An unsalted hash of a low-entropy value (a
// password, a short token) is reversed by guessing; a hash with a fixed key
// lets anyone holding two diffs (of two clusters, two days, two Secrets)
// tell equal values apart; and a hash with a fresh random key per diff says
// nothing the masks do not, while making outputs differ from run to run.
// The fixed masks keep outputs deterministic (golden files, caching, the
// UI's own diffing) and give nothing away.
const (
	// MaskUnchanged replaces a value that is the same in desired and live.
	MaskUnchanged = "********"
	// MaskDesired replaces a desired value that differs from the live one,
	// or has no live counterpart.
	MaskDesired = "++++++++"
	// MaskLive replaces a live value that differs from the desired one, or
	// has no desired counterpart.
	MaskLive = "--------"
)

// secretFields are the fields of a core/v1 Secret that hold its values.
var secretFields = []string{"data", "stringData"}

// maskSecret replaces every value of a Secret's data and stringData, on
// both sides (either may be nil), by a mask. Keys stay visible: they name
// what changed and are not secret. A data or stringData that is not an
// object (a broken object) is masked whole.
func maskSecret(desired, live map[string]any) {
	for _, field := range secretFields {
		dv, inD := lookup(desired, field)
		lv, inL := lookup(live, field)
		dm, dIsMap := dv.(map[string]any)
		lm, lIsMap := lv.(map[string]any)
		if (inD && !dIsMap && dv != nil) || (inL && !lIsMap && lv != nil) {
			md, ml := masks(dv, inD, lv, inL)
			if inD {
				desired[field] = md
			}
			if inL {
				live[field] = ml
			}
			continue
		}
		for _, k := range unionKeys(dm, lm) {
			dv, inD := dm[k]
			lv, inL := lm[k]
			md, ml := masks(dv, inD, lv, inL)
			if inD {
				dm[k] = md
			}
			if inL {
				lm[k] = ml
			}
		}
	}
}

// masks returns the masks for a desired and a live value.
func masks(desired any, inDesired bool, live any, inLive bool) (string, string) {
	if inDesired && inLive && equal(desired, live) {
		return MaskUnchanged, MaskUnchanged
	}
	return MaskDesired, MaskLive
}

func lookup(m map[string]any, key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	v, ok := m[key]
	return v, ok
}
