package render

// Options bounds what one render may consume. A zero or negative field takes
// its value from DefaultOptions, except CacheEntries, where a negative value
// turns the cache off.
//
// Together they set the ceiling of the memory rendering takes: at most
// MaxConcurrent renders, each parsing at most MaxYAMLNodes nodes (about 250
// bytes each while parsed, about 40 once decoded) plus what MaxAliasNodes
// lets aliases add, and a cache of at most CacheBytes. With the defaults:
// 4 × 250 MB + 128 MiB, about 1.1 GiB in the worst case; renders of real
// repositories take a few megabytes each.
type Options struct {
	// MaxFileBytes caps one file read from the source (a manifest, a
	// kustomization, a patch, a generator input). Larger files are refused
	// from their size alone, before they are read.
	MaxFileBytes int64
	// MaxTotalBytes caps the bytes read from the source by one render.
	MaxTotalBytes int64
	// MaxObjects caps the objects one render may produce.
	MaxObjects int
	// MaxDepth caps how deeply mappings and sequences may nest in one
	// document (the top-level object is depth 1).
	MaxDepth int
	// MaxAliasNodes caps the values that YAML aliases may add by expansion,
	// across one render. It stops alias bombs ("billion laughs") early, with
	// memory bounded by this number.
	MaxAliasNodes int64
	// MaxYAMLNodes caps the YAML (and JSON) nodes one render may parse,
	// counted from the text before each file, value file, patch or Helm
	// output is parsed (a text parsed twice, such as a SOPS file before and
	// after decryption, counts twice). Parsing holds about 250 bytes per
	// node, so this bounds a render's memory whatever the files look like:
	// a dense 8 MiB list of one-letter values is four million nodes.
	MaxYAMLNodes int
	// CacheEntries is how many render results the Renderer keeps (least
	// recently used first out). Negative: no cache.
	CacheEntries int
	// CacheBytes caps the memory the kept results take, estimated from
	// their decoded objects; the least recently used go first, and a result
	// larger than the whole cache is not kept.
	CacheBytes int64
	// MaxConcurrent caps the renders a Renderer runs at once; others wait
	// their turn (or their context). With the limits above it bounds the
	// memory all renders take together: parsing dense YAML (a flow list of
	// one-character values) takes about 150 times the file's size.
	MaxConcurrent int
}

// DefaultOptions returns the limits Flotilla uses: 8 MiB per file, 64 MiB per
// render, 10000 objects, nesting depth 128, 100000 values added by YAML
// aliases, one million YAML nodes per render, a cache of 256 results and
// 128 MiB, and 4 renders at once.
func DefaultOptions() Options {
	return Options{
		MaxFileBytes:  8 << 20,
		MaxTotalBytes: 64 << 20,
		MaxObjects:    10000,
		MaxDepth:      128,
		MaxAliasNodes: 100000,
		MaxYAMLNodes:  1_000_000,
		CacheEntries:  256,
		CacheBytes:    128 << 20,
		MaxConcurrent: 4,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = d.MaxFileBytes
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = d.MaxTotalBytes
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = d.MaxObjects
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = d.MaxDepth
	}
	if o.MaxAliasNodes <= 0 {
		o.MaxAliasNodes = d.MaxAliasNodes
	}
	if o.MaxYAMLNodes <= 0 {
		o.MaxYAMLNodes = d.MaxYAMLNodes
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = d.CacheBytes
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = d.CacheEntries
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = d.MaxConcurrent
	}
	return o
}
