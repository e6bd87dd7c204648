package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/keyservice"
	yaml "go.yaml.in/yaml/v3"
)

// SOPS decryption. A file the renderer reads as manifests, as Helm values or
// on kustomize's behalf is decrypted in memory before it is parsed when it is
// a SOPS document: YAML or JSON whose first document holds a top-level "sops"
// mapping with "mac" and "version"; for files kustomize reads (generator
// inputs) also dotenv and sops's binary format, chosen by file name as sops
// does. (A SOPS INI file is refused rather than passed on encrypted.)
//
// The data key is recovered through a sops key service that runs in process
// and knows only the Request's keys (see keyring): never the environment
// (SOPS_AGE_KEY and the like are process-wide and would mix tenants), never
// a home folder, an age plugin, gpg or a cloud KMS. The MAC is checked before
// anything decrypted is used. Errors name the file and the file's recipients,
// which are public, and never a decrypted value, a key or sops's own error
// text (it may quote the content).

const (
	// maxSOPSKeys caps the master keys one file may list: each is a
	// decryption attempt with every key of the Request.
	maxSOPSKeys = 64
	// maxRecipientsShown caps the recipients an error lists.
	maxRecipientsShown = 8
)

// sopsFormat is how a SOPS file is stored, as sops tells it by file name.
type sopsFormat int

const (
	formatYAML sopsFormat = iota
	formatJSON
	formatDotenv
	formatINI
	// formatBinary: any other name; sops stores the file's bytes as the
	// value "data" of a JSON document.
	formatBinary
)

func formatOf(name string) sopsFormat {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return formatYAML
	case ".json":
		return formatJSON
	case ".env":
		return formatDotenv
	case ".ini":
		return formatINI
	}
	return formatBinary
}

// decrypt returns data decrypted when file is a SOPS document, and data as
// it is otherwise.
func (t *tree) decrypt(file string, data []byte) ([]byte, error) {
	format, ok := detectSOPS(file, data)
	if !ok {
		return data, nil
	}
	if t.keys == nil {
		return nil, newError(ErrDecryption, file, "is SOPS-encrypted but the Application has no decryption keys (spec.source.decryption)")
	}
	if err := checkSOPSInput(file, format, data, t.b); err != nil {
		return nil, err
	}
	return decryptSOPS(file, format, data, t.keys, t.b)
}

// detectSOPS reports whether data is a SOPS document, and in which format.
// A file whose name says nothing (formatBinary) may also be SOPS YAML, which
// kustomize reads whatever the name.
func detectSOPS(name string, data []byte) (sopsFormat, bool) {
	if !bytes.Contains(data, []byte("sops")) {
		return 0, false
	}
	switch format := formatOf(name); format {
	case formatYAML:
		return format, isSOPSYAML(data)
	case formatJSON:
		_, ok := sopsJSONKeys(data)
		return format, ok
	case formatDotenv:
		return format, isSOPSDotenv(data)
	case formatINI:
		return format, isSOPSINI(data)
	}
	if keys, ok := sopsJSONKeys(data); ok {
		if len(keys) == 2 && keys["data"] {
			return formatBinary, true
		}
		return formatJSON, true
	}
	return formatYAML, isSOPSYAML(data)
}

// isSOPSYAML: the first document is a mapping whose "sops" key holds a
// mapping with "mac" and "version".
func isSOPSYAML(data []byte) bool {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		return false
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k, v := top.Content[i], top.Content[i+1]; k.Kind == yaml.ScalarNode && k.Value == "sops" && v.Kind == yaml.MappingNode {
			return mappingHas(v, "mac") && mappingHas(v, "version")
		}
	}
	return false
}

func mappingHas(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// sopsJSONKeys returns the top-level keys of a JSON object whose "sops"
// value is an object with "mac" and "version".
func sopsJSONKeys(data []byte) (map[string]bool, bool) {
	var top map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		return nil, false
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(top["sops"], &meta); err != nil || meta["mac"] == nil || meta["version"] == nil {
		return nil, false
	}
	keys := make(map[string]bool, len(top))
	for k := range top {
		keys[k] = true
	}
	return keys, true
}

// isSOPSDotenv: lines "sops_mac=…" and "sops_version=…".
func isSOPSDotenv(data []byte) bool {
	var mac, version bool
	for line := range bytes.Lines(data) {
		mac = mac || bytes.HasPrefix(line, []byte("sops_mac="))
		version = version || bytes.HasPrefix(line, []byte("sops_version="))
	}
	return mac && version
}

// isSOPSINI: a [sops] section with mac and version keys.
func isSOPSINI(data []byte) bool {
	var in, mac, version bool
	for line := range bytes.Lines(data) {
		s := strings.TrimSpace(string(line))
		if strings.HasPrefix(s, "[") {
			in = s == "[sops]"
			continue
		}
		key, _, found := strings.Cut(s, "=")
		if !in || !found {
			continue
		}
		switch strings.TrimSpace(key) {
		case "mac":
			mac = true
		case "version":
			version = true
		}
	}
	return mac && version
}

// checkSOPSInput refuses what loadSOPS must not be handed: YAML aliases
// (a sops tree holds them expanded, which would undo the alias budget; sops
// itself never writes one) and nesting deeper than Options.MaxDepth (the
// loaders, and sops's walk of the tree, recurse).
func checkSOPSInput(file string, format sopsFormat, data []byte, b *budget) error {
	switch format {
	case formatYAML:
		if err := takeNodes(b, file, data); err != nil {
			return err
		}
		return eachYAMLNode(bytes.NewReader(data), file, func(doc int, n *yaml.Node) error {
			if err := checkSOPSNode(n, 0, b.opts.MaxDepth); err != nil {
				return docError(ErrMalformed, file, doc, "is SOPS-encrypted but "+err.Error())
			}
			return nil
		})
	case formatJSON, formatBinary:
		if depth := jsonDepth(data, b.opts.MaxDepth); depth > b.opts.MaxDepth {
			return newError(ErrTooLarge, file, "nested deeper than %d levels", b.opts.MaxDepth)
		}
	}
	return nil
}

func checkSOPSNode(n *yaml.Node, depth, maxDepth int) error {
	switch n.Kind {
	case yaml.AliasNode:
		return fmt.Errorf("holds a YAML alias (line %d), which sops never writes", n.Line)
	case yaml.MappingNode, yaml.SequenceNode:
		if depth++; depth > maxDepth {
			return fmt.Errorf("is nested deeper than %d levels", maxDepth)
		}
	}
	for _, c := range n.Content {
		if err := checkSOPSNode(c, depth, maxDepth); err != nil {
			return err
		}
	}
	return nil
}

// jsonDepth returns how deeply the JSON in data nests, stopping past limit;
// what is not JSON is left for the store to refuse.
func jsonDepth(data []byte, limit int) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for deepest <= limit {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return deepest
}

// decryptSOPS loads the SOPS document, recovers its data key with keys,
// decrypts it, checks its MAC and returns it in its own format. A panic in
// sops (it walks untrusted input) is one failed file.
func decryptSOPS(file string, format sopsFormat, data []byte, keys *keyring, b *budget) (plain []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			plain, err = nil, newError(ErrDecryption, file, "cannot be decrypted: sops stopped unexpectedly")
		}
	}()
	if format == formatINI {
		return nil, newError(ErrUnsupported, file, "is a SOPS-encrypted INI file, which is not supported; use YAML, JSON or dotenv")
	}
	tree, err := loadSOPS(format, data)
	if err != nil {
		// The loaders' messages may quote the file: they are left out, as
		// every message of sops is.
		return nil, newError(ErrMalformed, file, "is SOPS-encrypted but cannot be read as a SOPS document")
	}
	if tree.Metadata.EncryptedCommentRegex != "" || tree.Metadata.UnencryptedCommentRegex != "" {
		return nil, newError(ErrUnsupported, file, "is SOPS-encrypted with encrypted_comment_regex or unencrypted_comment_regex, which is not supported")
	}
	dataKey, err := dataKeyOf(file, &tree.Metadata, keys)
	if err != nil {
		return nil, err
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, newError(ErrDecryption, file, "a value cannot be decrypted: the file was changed after it was encrypted, or is damaged")
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		return nil, newError(ErrDecryption, file, "MAC mismatch: the file was changed after it was encrypted")
	}
	return emitPlain(file, format, tree.Branches, b)
}

// dataKeyOf recovers the data key through a key service that holds only
// keys: no environment, no home folder, no plugin, no KMS.
func dataKeyOf(file string, m *sops.Metadata, keys *keyring) ([]byte, error) {
	var recipients []string
	for _, group := range m.KeyGroups {
		for _, k := range group {
			recipients = append(recipients, k.ToString())
		}
	}
	if len(recipients) > maxSOPSKeys {
		return nil, newError(ErrTooLarge, file, "lists %d SOPS keys, more than %d", len(recipients), maxSOPSKeys)
	}
	svc := keyservice.NewCustomLocalClient(keys)
	dataKey, err := m.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{svc}, nil)
	if err != nil || len(dataKey) != 32 {
		return nil, newError(ErrDecryption, file, "no key can decrypt it (recipients: %s)", recipientList(recipients))
	}
	return dataKey, nil
}

func recipientList(rs []string) string {
	if len(rs) == 0 {
		return "none"
	}
	shown := make([]string, 0, maxRecipientsShown+1)
	for i, r := range rs {
		if i == maxRecipientsShown {
			shown = append(shown, fmt.Sprintf("and %d more", len(rs)-i))
			break
		}
		if len(r) > 200 || hasControl(r) {
			r = quoteShort(r)
		}
		shown = append(shown, r)
	}
	return strings.Join(shown, ", ")
}
