package yamlsize

// Nodes counts the bytes of data that may start a YAML node: ':', ',', '-',
// '?', '[', '{' and line breaks. Nearly every node follows one of them; the
// others (a document, its first node, a mapping's empty value) pair with a
// counted one, so a parser builds at most 2*Nodes(data)+2 nodes, documents
// included (FuzzNodesBoundsParser holds yaml.v3 to it). JSON is YAML here.
//
// Counting stops once it passes limit, so a caller checking a bound pays
// only for the text up to it; limit < 0 counts everything.
func Nodes[T ~string | ~[]byte](data T, limit int) int {
	n := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ':', ',', '-', '?', '[', '{', '\n':
			if n++; n > limit && limit >= 0 {
				return n
			}
		}
	}
	return n
}
