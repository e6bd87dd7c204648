package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/stores"
	yaml "go.yaml.in/yaml/v3"
)

// SOPS documents are loaded into sops's tree and written out again here,
// the way sops's stores (stores/yaml, stores/json, stores/dotenv) do it,
// rather than with those stores: they import sops's config package, which
// links the S3 and Google Cloud Storage clients of `sops publish` (about 30
// MB of binary) to read a file. What a MAC covers (values, in order, with
// their types) is loaded exactly as the stores load it; comments are left
// out, which the MAC does not cover, so documents that make encryption
// depend on comments (encrypted_comment_regex, unencrypted_comment_regex)
// are refused.

// loadSOPS reads a SOPS document of the given format into a sops tree.
func loadSOPS(format sopsFormat, data []byte) (sops.Tree, error) {
	var branches sops.TreeBranches
	var err error
	flatten := stores.MetadataFlattenNone
	switch format {
	case formatYAML:
		branches, err = yamlBranches(data)
	case formatJSON, formatBinary:
		branches, err = jsonBranches(data)
	case formatDotenv:
		branches, err = dotenvBranches(data)
		flatten = stores.MetadataFlattenFull
	default:
		err = errors.New("format not supported")
	}
	if err != nil {
		return sops.Tree{}, err
	}
	branches, meta, err := stores.ExtractMetadata(branches, stores.MetadataOpts{Flatten: flatten})
	if err != nil {
		return sops.Tree{}, err
	}
	return sops.Tree{Branches: branches, Metadata: meta}, nil
}

// yamlBranches mirrors sops's YAML store: one branch a document, scalars
// decoded as yaml.v3 decodes them into an interface. Aliases were refused
// before (checkSOPSInput).
func yamlBranches(data []byte) (sops.TreeBranches, error) {
	var out sops.TreeBranches
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		branch := sops.TreeBranch{}
		for _, n := range doc.Content {
			switch {
			case n.Kind == yaml.MappingNode:
				b, err := yamlMapping(n)
				if err != nil {
					return nil, err
				}
				branch = append(branch, b...)
			case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
			default:
				return nil, errors.New("a YAML document that is not a mapping")
			}
		}
		out = append(out, branch)
	}
}

func yamlMapping(n *yaml.Node) (sops.TreeBranch, error) {
	branch := make(sops.TreeBranch, 0, len(n.Content)/2)
	seen := map[any]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var key any
		if err := n.Content[i].Decode(&key); err != nil {
			return nil, err
		}
		if s, ok := key.(string); ok && seen[s] {
			return nil, errors.New("a key given twice")
		} else if ok {
			seen[s] = true
		}
		v, err := yamlValue(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		branch = append(branch, sops.TreeItem{Key: key, Value: v})
	}
	return branch, nil
}

func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		return yamlMapping(n)
	case yaml.SequenceNode:
		var items []any
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		return items, nil
	case yaml.ScalarNode:
		var v any
		_ = n.Decode(&v) // as sops's store: a scalar it cannot decode is nil
		return v, nil
	}
	return nil, errors.New("unexpected YAML node")
}

// jsonBranches mirrors sops's JSON store: one object, numbers as int when
// they fit, float64 otherwise. Nesting was bounded before.
func jsonBranches(data []byte) (sops.TreeBranches, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	branch, err := jsonObject(dec)
	if err != nil {
		return nil, err
	}
	return sops.TreeBranches{branch}, nil
}

func jsonObject(dec *json.Decoder) (sops.TreeBranch, error) {
	branch := sops.TreeBranch{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return branch, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("a JSON object key that is not a string")
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := jsonValue(dec, tok)
		if err != nil {
			return nil, err
		}
		branch = append(branch, sops.TreeItem{Key: key, Value: v})
	}
}

func jsonValue(dec *json.Decoder, tok json.Token) (any, error) {
	switch tok {
	case json.Delim('{'):
		return jsonObject(dec)
	case json.Delim('['):
		var items []any
		for {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if t == json.Delim(']') {
				return items, nil
			}
			v, err := jsonValue(dec, t)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
	}
	if n, ok := tok.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i), nil
		}
		return n.Float64()
	}
	return tok, nil
}

// dotenvBranches mirrors sops's dotenv store: KEY=value lines, "\n" in a
// value meaning a newline, comment lines kept as comments (sops may have
// encrypted them).
func dotenvBranches(data []byte) (sops.TreeBranches, error) {
	var branch sops.TreeBranch
	for _, line := range bytes.Split(data, []byte("\n")) {
		switch {
		case len(line) == 0:
			continue
		case line[0] == '#':
			branch = append(branch, sops.TreeItem{Key: sops.Comment{Value: string(line[1:])}})
			continue
		}
		key, value, ok := bytes.Cut(line, []byte("="))
		if !ok {
			return nil, errors.New("a dotenv line without =")
		}
		branch = append(branch, sops.TreeItem{Key: string(key), Value: strings.ReplaceAll(string(value), `\n`, "\n")})
	}
	return sops.TreeBranches{branch}, nil
}

// emitPlain writes the decrypted tree in the file's format, within the
// limit for one file. YAML's size is bounded before it is written: block
// style indents every line, so a deeply nested document could grow far
// beyond the file it came from.
func emitPlain(file string, format sopsFormat, branches sops.TreeBranches, b *budget) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch format {
	case formatYAML:
		var size int64
		for _, br := range branches {
			size = addCapped(size, yamlSize(br, 0))
		}
		if size > b.opts.MaxFileBytes {
			return nil, newError(ErrTooLarge, file, "decrypted, it would be over the %s limit for one file", sizeText(b.opts.MaxFileBytes))
		}
		err = writeYAML(&buf, branches)
	case formatJSON:
		err = writeJSON(&buf, branches[0])
	case formatBinary:
		err = writeBinary(&buf, branches[0])
	case formatDotenv:
		err = writeDotenv(&buf, branches[0])
	}
	if err != nil {
		return nil, newError(ErrDecryption, file, "cannot be written out once decrypted: %s", err.Error())
	}
	if int64(buf.Len()) > b.opts.MaxFileBytes {
		return nil, newError(ErrTooLarge, file, "decrypted, it is over the %s limit for one file", sizeText(b.opts.MaxFileBytes))
	}
	return buf.Bytes(), nil
}

// yamlIndent is the indentation writeYAML uses.
const yamlIndent = 2

// yamlSize bounds from above the bytes writeYAML writes for v at the given
// nesting depth.
func yamlSize(v any, depth int) int64 {
	indent := int64(depth+1) * yamlIndent
	switch t := v.(type) {
	case sops.TreeBranch:
		var n int64
		for _, item := range t {
			n = addCapped(n, yamlSize(item.Key, depth)+yamlSize(item.Value, depth+1))
		}
		return n
	case []any:
		var n int64
		for _, item := range t {
			n = addCapped(n, indent+yamlSize(item, depth+1))
		}
		return n
	case string:
		// Each line indented; quoting and escapes take at most 10 bytes
		// a byte ("\U0001F600" for a 4-byte rune, 2.5 a byte).
		return indent*int64(strings.Count(t, "\n")+1) + 4*int64(len(t)) + 8
	}
	return indent + 64 // numbers, booleans, times, null, comments (left out)
}

func addCapped(a, b int64) int64 {
	return min(a+b, measureCap)
}

// writeYAML writes the documents as sops's YAML store does, without the
// comments.
func writeYAML(w *bytes.Buffer, branches sops.TreeBranches) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(yamlIndent)
	for _, br := range branches {
		n, err := yamlNode(br)
		if err != nil {
			return err
		}
		if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}); err != nil {
			return errors.New("a value cannot be written as YAML") // yaml's text may quote it
		}
	}
	return enc.Close()
}

func yamlNode(v any) (*yaml.Node, error) {
	switch t := v.(type) {
	case sops.TreeBranch:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, item := range t {
			if _, comment := item.Key.(sops.Comment); comment {
				continue
			}
			k, err := yamlNode(item.Key)
			if err != nil {
				return nil, err
			}
			val, err := yamlNode(item.Value)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, item := range t {
			if _, comment := item.(sops.Comment); comment {
				continue
			}
			c, err := yamlNode(item)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, errors.New("a value cannot be written as YAML")
	}
	return &n, nil
}

// writeJSON writes a decrypted tree as compact JSON, keys in their order,
// comments left out. (sops's JSON store joins strings in a loop, which takes
// quadratic time.)
func writeJSON(w *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case sops.TreeBranch:
		w.WriteByte('{')
		first := true
		for _, item := range t {
			key, ok := item.Key.(string)
			if !ok {
				continue // a comment
			}
			if !first {
				w.WriteByte(',')
			}
			first = false
			if err := writeJSON(w, key); err != nil {
				return err
			}
			w.WriteByte(':')
			if err := writeJSON(w, item.Value); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case []any:
		w.WriteByte('[')
		first := true
		for _, item := range t {
			if _, ok := item.(sops.Comment); ok {
				continue
			}
			if !first {
				w.WriteByte(',')
			}
			first = false
			if err := writeJSON(w, item); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return errors.New("a value cannot be written as JSON") // json's text may quote it
	}
	w.Write(data)
	return nil
}

// writeBinary writes the "data" value of sops's binary format.
func writeBinary(w *bytes.Buffer, branch sops.TreeBranch) error {
	for _, item := range branch {
		if item.Key == "data" {
			s, ok := item.Value.(string)
			if !ok {
				return errors.New(`its "data" is not a string`)
			}
			w.WriteString(s)
			return nil
		}
	}
	return errors.New(`it has no "data"`)
}

// writeDotenv writes KEY=value lines as sops's dotenv store does, comments
// left out.
func writeDotenv(w *bytes.Buffer, branch sops.TreeBranch) error {
	for _, item := range branch {
		key, ok := item.Key.(string)
		if !ok {
			continue
		}
		if stores.IsComplexValue(item.Value) {
			return fmt.Errorf("the value of %s is not a plain value", quoteShort(key))
		}
		value, ok := item.Value.(string)
		if ok {
			value = strings.ReplaceAll(value, "\n", `\n`)
		} else {
			value = stores.ValToString(item.Value)
		}
		w.WriteString(key + "=" + value + "\n")
	}
	return nil
}
