package yamlsize

import (
	"strings"
	"testing"
)

func TestNodes(t *testing.T) {
	cases := []struct {
		data  string
		limit int
		want  int
	}{
		{"", -1, 0},
		{"plain text without structure", -1, 0},
		{"a: b\nc: [d, e]\n", -1, 6},
		{"x: [a,a,a,a]\n", -1, 6},
		{"x: [a,a,a,a]\n", 2, 3}, // stops once past the limit
		{"? a\n", -1, 2},
		{`{"a": [1, 2]}`, -1, 4},
	}
	for _, c := range cases {
		if got := Nodes(c.data, c.limit); got != c.want {
			t.Errorf("Nodes(%q, %d) = %d, want %d", c.data, c.limit, got, c.want)
		}
		if got := Nodes([]byte(c.data), c.limit); got != c.want {
			t.Errorf("Nodes([]byte(%q), %d) = %d, want %d", c.data, c.limit, got, c.want)
		}
	}
}

// A dense flow list counts one node per value: 8 MiB of it is about four
// million, however it is laid out.
func TestNodesDenseList(t *testing.T) {
	data := "x: [" + strings.Repeat("a,", 4<<20) + "a]\n"
	if got := Nodes(data, -1); got < 4<<20 {
		t.Fatalf("Nodes of a dense list of %d values = %d", 4<<20, got)
	}
}
