package sopstest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/stores"
)

// NewAgeKey returns a fresh age identity: the AGE-SECRET-KEY-1… line a
// decryption Secret holds, and the age1… recipient files are encrypted to.
func NewAgeKey(t testing.TB) (identity, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	return id.String(), id.Recipient().String()
}

// Secret returns a Kubernetes Secret named name with stringData, as a JSON
// file encrypted by SOPS to the age recipient: every value is encrypted,
// the keys stay readable, and the MAC covers them all.
func Secret(t testing.TB, name string, stringData map[string]string, recipient string) string {
	t.Helper()
	var data sops.TreeBranch
	for _, k := range slices.Sorted(maps.Keys(stringData)) {
		data = append(data, sops.TreeItem{Key: k, Value: stringData[k]})
	}
	doc := sops.TreeBranch{
		{Key: "apiVersion", Value: "v1"},
		{Key: "kind", Value: "Secret"},
		{Key: "metadata", Value: sops.TreeBranch{{Key: "name", Value: name}}},
		{Key: "stringData", Value: data},
	}
	return encrypt(t, doc, recipient)
}

func encrypt(t testing.TB, doc sops.TreeBranch, recipient string) string {
	t.Helper()
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	dataKey := make([]byte, 32)
	_, _ = rand.Read(dataKey)
	if err := mk.Encrypt(dataKey); err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	tree := sops.Tree{Branches: sops.TreeBranches{doc}, Metadata: sops.Metadata{
		KeyGroups: []sops.KeyGroup{[]keys.MasterKey{mk}}, Version: "3.13.3",
	}}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	out, err := stores.SerializeMetadata(tree, stores.MetadataOpts{Flatten: stores.MetadataFlattenNone})
	if err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, out[0]); err != nil {
		t.Fatalf("sopstest: %v", err)
	}
	return buf.String()
}

// writeJSON writes a tree branch as a JSON object, keys in the tree's order.
func writeJSON(w *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case sops.TreeBranch:
		w.WriteByte('{')
		for i, item := range v {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSON(w, fmt.Sprint(item.Key)); err != nil {
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
		for i, e := range v {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSON(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	default:
		b, err := json.Marshal(v)
		w.Write(b)
		return err
	}
}
