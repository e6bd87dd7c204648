package yamlsize

import (
	"bytes"
	"errors"
	"io"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzNodesBoundsParser checks the promise callers rely on: the parser
// builds no more nodes than Nodes allows, so a bound checked on the text
// bounds the parse.
func FuzzNodesBoundsParser(f *testing.F) {
	for _, seed := range []string{
		"a: b\n",
		"x: [a,a,a,a,a,a]\n",
		"? a\n? b\n? c\n",
		"? ? ? ?",
		"{a, b, c}\n",
		"a:\nb:\nc:\n",
		"--- a\n--- b\n--- c\n",
		"&x [*x, *x]\n",
		"- - - - [[[{}]]]\n",
		"k: |\n  a: b, c\n  - d\n",
		`{"a": [1, 2, {"b": null}]}`,
		"!!map {? !!str a : !!null ''}\n",
		"a\n...\nb\n...\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		nodes, ok := parse(data)
		if !ok {
			return
		}
		if limit := 2*Nodes(data, -1) + 2; nodes > limit {
			t.Fatalf("%q: the parser built %d nodes, over the bound %d", data, nodes, limit)
		}
	})
}

// parse counts the nodes yaml.v3 builds from data, documents included; ok
// is false when data is not YAML.
func parse(data []byte) (nodes int, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nodes, errors.Is(err, io.EOF)
		}
		nodes += count(&n)
	}
}

func count(n *yaml.Node) int {
	c := 1
	for _, child := range n.Content {
		c += count(child)
	}
	return c
}
