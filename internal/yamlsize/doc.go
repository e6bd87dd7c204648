// Package yamlsize measures YAML (and JSON) text before it is parsed.
//
// Parsing YAML into nodes costs far more memory than the text: a dense flow
// list of one-letter values (`x: [a,a,a,…]`) takes about 250 bytes of heap
// per node, so 8 MiB of it would take about a gigabyte. Counting the bytes
// that can start a node is cheap and bounds the nodes a parser can build, so
// callers refuse structure they cannot afford before the parser sees it.
//
// Flotilla counts a Helm repository's index this way (internal/source) and
// every YAML or JSON text one render parses (internal/render).
package yamlsize
