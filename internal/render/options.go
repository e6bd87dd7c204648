package render

// Options bounds what one render may consume. A zero or negative field takes
// its value from DefaultOptions, except CacheEntries, where a negative value
// turns the cache off.
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
	// CacheEntries is how many render results the Renderer keeps (least
	// recently used first out). Negative: no cache.
	CacheEntries int
	// MaxConcurrent caps the renders a Renderer runs at once; others wait
	// their turn (or their context). With the limits above it bounds the
	// memory all renders take together: parsing dense YAML (a flow list of
	// one-character values) takes about 150 times the file's size.
	MaxConcurrent int
}

// DefaultOptions returns the limits Flotilla uses: 8 MiB per file, 64 MiB per
// render, 10000 objects, nesting depth 128, 100000 values added by YAML
// aliases, a cache of 256 results and 4 renders at once.
func DefaultOptions() Options {
	return Options{
		MaxFileBytes:  8 << 20,
		MaxTotalBytes: 64 << 20,
		MaxObjects:    10000,
		MaxDepth:      128,
		MaxAliasNodes: 100000,
		CacheEntries:  256,
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
	if o.CacheEntries == 0 {
		o.CacheEntries = d.CacheEntries
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = d.MaxConcurrent
	}
	return o
}
