package render

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The files under testdata/sops were written by sops's own stores (as the
// sops CLI writes them), encrypted to the test key testdata/sops/age.key;
// they check that this package reads what sops writes. The other tests
// encrypt at run time with the sops library, to fresh age keys.

const sopsFixtures = "testdata/sops"

func fixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sopsFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fixtureKeys(t *testing.T) *Decryption {
	return &Decryption{AgeKeys: []string{fixture(t, "age.key")}}
}

func newAgeKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sopsEncrypt encrypts a YAML (or, for a .json name, JSON) document as sops
// does, with a fresh data key given to masterKeys; regex is sops's
// --encrypted-regex.
func sopsEncrypt(t *testing.T, name, plain, regex string, masterKeys ...keys.MasterKey) string {
	t.Helper()
	format := formatOf(name)
	var branches sops.TreeBranches
	var err error
	if format == formatJSON {
		branches, err = jsonBranches([]byte(plain))
	} else {
		branches, err = yamlBranches([]byte(plain))
	}
	if err != nil {
		t.Fatal(err)
	}
	dataKey := make([]byte, 32)
	_, _ = rand.Read(dataKey)
	for _, mk := range masterKeys {
		if len(mk.EncryptedDataKey()) == 0 {
			if err := mk.Encrypt(dataKey); err != nil {
				t.Fatal(err)
			}
		}
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{
		KeyGroups: []sops.KeyGroup{masterKeys}, EncryptedRegex: regex, Version: "3.13.3",
	}}
	out := encryptTree(t, tree, dataKey)
	var buf bytes.Buffer
	if format == formatJSON {
		err = writeJSON(&buf, out[0])
	} else {
		err = writeYAML(&buf, out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func ageMasterKey(t *testing.T, id *age.X25519Identity) keys.MasterKey {
	t.Helper()
	mk, err := sopsage.MasterKeyFromRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: api
stringData:
  password: hunter2-runtime
data:
  token: cnVudGltZS10b2tlbg==
`

// field returns a string at a path of the object named name.
func field(t *testing.T, res *Result, name string, fields ...string) string {
	t.Helper()
	for _, u := range res.Objects {
		if u.GetName() == name {
			v, ok, err := unstructured.NestedString(u.Object, fields...)
			if err != nil || !ok {
				t.Fatalf("%s: %v not found (%v)", name, fields, err)
			}
			return v
		}
	}
	t.Fatalf("no object %s in %s", name, names(res))
	return ""
}

func TestSOPSPlainFolder(t *testing.T) {
	id := newAgeKey(t)
	dir := t.TempDir()
	write(t, dir, "app/cm.yaml", configMap("plain"))
	write(t, dir, "app/secret.yaml", sopsEncrypt(t, "secret.yaml", secretYAML, "", ageMasterKey(t, id)))
	write(t, dir, "app/fixture.yaml", fixture(t, "secret.sops.yaml"))
	write(t, dir, "app/fixture-regex.yml", strings.ReplaceAll(fixture(t, "secret-regex.sops.yaml"), "name: db", "name: db-regex"))
	write(t, dir, "app/fixture.json", fixture(t, "secret.sops.json"))

	// The regex fixture's name is not encrypted: renaming it breaks its MAC.
	keys := &Decryption{AgeKeys: []string{id.String(), fixture(t, "age.key")}}
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app", Decryption: keys})
	if !errors.Is(err, ErrDecryption) || !strings.Contains(err.Error(), "app/fixture-regex.yml: MAC mismatch") {
		t.Fatalf("got %v, want a MAC mismatch of app/fixture-regex.yml", err)
	}
	if err := os.Remove(filepath.Join(dir, "app/fixture-regex.yml")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "regex.yaml", fixture(t, "secret-regex.sops.yaml"))

	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app", Decryption: keys})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), "plain,json-db,db,settings,api"; got != want {
		t.Fatalf("objects %s, want %s", got, want)
	}
	for _, c := range []struct {
		name   string
		fields []string
		want   string
	}{
		{"api", []string{"stringData", "password"}, "hunter2-runtime"},
		{"api", []string{"data", "token"}, "cnVudGltZS10b2tlbg=="},
		{"db", []string{"stringData", "password"}, "s3cr3t-fixture"},
		{"db", []string{"stringData", "port"}, "5432"},
		{"db", []string{"data", "token"}, "Zml4dHVyZS10b2tlbg=="},
		{"db", []string{"metadata", "labels", "tier"}, "1"},
		{"settings", []string{"data", "list"}, "one\ntwo\n"},
		{"json-db", []string{"stringData", "password"}, "json-fixture"},
	} {
		if got := field(t, res, c.name, c.fields...); got != c.want {
			t.Errorf("%s %v = %q, want %q", c.name, c.fields, got, c.want)
		}
	}

	res, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "regex.yaml", Decryption: keys})
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, res, "db", "stringData", "password"); got != "s3cr3t-fixture" {
		t.Fatalf("password %q", got)
	}
}

func TestSOPSKustomize(t *testing.T) {
	id := newAgeKey(t)
	dir := t.TempDir()
	write(t, dir, "base/secret.yaml", sopsEncrypt(t, "secret.yaml", secretYAML, "^(data|stringData)$", ageMasterKey(t, id)))
	write(t, dir, "base/kustomization.yaml", "resources: [secret.yaml]\n")
	write(t, dir, "overlay/app.env", fixture(t, "app.sops.env"))
	write(t, dir, "overlay/tls.key", fixture(t, "tls.key.sops"))
	write(t, dir, "overlay/kustomization.yaml", `resources: [../base]
namePrefix: prod-
secretGenerator:
- name: app
  envs: [app.env]
  files: [tls.key]
  options: {disableNameSuffixHash: true}
`)
	keys := &Decryption{AgeKeys: []string{id.String() + "\n" + fixture(t, "age.key")}}
	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "overlay", Decryption: keys})
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, res, "prod-api", "stringData", "password"); got != "hunter2-runtime" {
		t.Fatalf("password %q", got)
	}
	for key, want := range map[string]string{
		"PASSWORD": "env-fixture",
		// sops writes a newline in a dotenv value as \n, which kustomize
		// keeps as it is.
		"MULTI":   `a\nb`,
		"tls.key": "-----BEGIN KEY-----\nbinary-fixture\n-----END KEY-----\n",
	} {
		got, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(field(t, res, "prod-app", "data", key), "\n", ""))
		if err != nil || string(got) != want {
			t.Errorf("generated %s = %q (%v), want %q", key, got, err, want)
		}
	}

	// Without keys, the error names the resource file.
	_, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "overlay"})
	if !errors.Is(err, ErrDecryption) || !strings.HasPrefix(err.Error(), "base/secret.yaml: is SOPS-encrypted") {
		t.Fatalf("got %v", err)
	}
}

func TestSOPSHelmValues(t *testing.T) {
	dir := helmRepo(t, "greeter", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: greeting}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicaCount | quote }}\n  deep: {{ .Values.nested.deep.x | quote }}\n",
		"values.yaml":       "greeting: hello\nreplicaCount: 1\n",
	})
	write(t, dir, "secrets/values.sops.yaml", fixture(t, "values.sops.yaml"))
	ho := HelmOptions{ValueFiles: []string{"../secrets/values.sops.yaml"}}
	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart", Helm: ho, Decryption: fixtureKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"greeting": "hola-fixture", "replicas": "4", "deep": "1.25"} {
		if got := field(t, res, "greeting", "data", key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	_, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart", Helm: ho})
	if !errors.Is(err, ErrDecryption) || !strings.Contains(err.Error(), "secrets/values.sops.yaml: is SOPS-encrypted but the Application has no decryption keys (spec.source.decryption)") {
		t.Fatalf("got %v", err)
	}
}

func TestSOPSErrors(t *testing.T) {
	id, other := newAgeKey(t), newAgeKey(t)
	dir := t.TempDir()
	encrypted := sopsEncrypt(t, "secret.yaml", secretYAML, "", ageMasterKey(t, id))
	write(t, dir, "secret.yaml", encrypted)
	// A value whose ciphertext was changed.
	i := strings.Index(encrypted, "data:") + len("data:")
	flipped := encrypted[:i] + string(encrypted[i]^1) + encrypted[i+1:]
	write(t, dir, "tampered/secret.yaml", flipped)
	write(t, dir, "alias/secret.yaml", "a: &x 1\nb: *x\n"+encrypted[strings.Index(encrypted, "sops:"):])

	cases := []struct {
		name, path string
		keys       *Decryption
		kind       error
		want       string
	}{
		{"no keys", "secret.yaml", nil, ErrDecryption,
			"secret.yaml: is SOPS-encrypted but the Application has no decryption keys (spec.source.decryption)"},
		{"empty keys", "secret.yaml", &Decryption{}, ErrDecryption, "no decryption keys"},
		{"wrong key", "secret.yaml", &Decryption{AgeKeys: []string{other.String()}}, ErrDecryption,
			"secret.yaml: no key can decrypt it (recipients: " + id.Recipient().String() + ")"},
		{"changed value", "tampered", &Decryption{AgeKeys: []string{id.String()}}, ErrDecryption,
			"tampered/secret.yaml: a value cannot be decrypted"},
		{"alias", "alias", &Decryption{AgeKeys: []string{id.String()}}, ErrMalformed, "holds a YAML alias"},
		{"plugin key", "secret.yaml", &Decryption{AgeKeys: []string{"AGE-PLUGIN-YUBIKEY-1QQQQQQ"}}, ErrDecryption,
			"decryption age key 1, line 1, is not an age secret key"},
		{"public PGP key", "secret.yaml", &Decryption{PGPKeys: [][]byte{[]byte("nonsense")}}, ErrDecryption,
			"decryption PGP key 1 is not an armored OpenPGP key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: c.path, Decryption: c.keys})
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %v: …%s…", err, c.kind, c.want)
			}
			for _, secret := range []string{"hunter2", "cnVudGltZS10b2tlbg", id.String(), other.String(), "AGE-PLUGIN"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error %q holds %q", err, secret)
				}
			}
		})
	}
}

func TestSOPSCacheKeyedByKeys(t *testing.T) {
	id, other := newAgeKey(t), newAgeKey(t)
	dir := t.TempDir()
	write(t, dir, "app/secret.yaml", sopsEncrypt(t, "secret.yaml", secretYAML, "", ageMasterKey(t, id)))
	r := New(DefaultOptions())
	req := Request{Root: dir, Path: "app", Revision: "rev1", Decryption: &Decryption{AgeKeys: []string{id.String()}}}
	for range 2 {
		res, err := r.Render(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := field(t, res, "api", "stringData", "password"); got != "hunter2-runtime" {
			t.Fatalf("password %q", got)
		}
	}
	if s := r.Stats(); s.Renders != 1 || s.Hits != 1 {
		t.Fatalf("stats %+v, want one render and one hit", s)
	}
	// Same revision and path, no keys or other keys: never the cached render.
	for _, keys := range []*Decryption{nil, {AgeKeys: []string{other.String()}}} {
		req.Decryption = keys
		if res, err := r.Render(context.Background(), req); !errors.Is(err, ErrDecryption) {
			t.Fatalf("keys %v: got %v, %v; want ErrDecryption", keys, res, err)
		}
	}
	if s := r.Stats(); s.Hits != 1 {
		t.Fatalf("stats %+v: a request without the keys was answered from the cache", s)
	}
}

func TestSOPSPGP(t *testing.T) {
	entity, err := openpgp.NewEntity("Flotilla test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var private bytes.Buffer
	w, err := pgparmor.Encode(&private, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	// sops encrypts the data key with gpg's public keyring; this does what
	// it does, in memory.
	dataKey := make([]byte, 32)
	_, _ = rand.Read(dataKey)
	var armored bytes.Buffer
	aw, err := pgparmor.Encode(&armored, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{entity}, nil, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pw.Write(dataKey)
	_ = pw.Close()
	_ = aw.Close()
	mk := &pgp.MasterKey{Fingerprint: strings.ToUpper(hex.EncodeToString(entity.PrimaryKey.Fingerprint)), EncryptedKey: armored.String()}
	dir := t.TempDir()
	write(t, dir, "secret.yaml", sopsEncryptWithKey(t, secretYAML, dataKey, mk))

	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "secret.yaml", Decryption: &Decryption{PGPKeys: [][]byte{private.Bytes()}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, res, "api", "stringData", "password"); got != "hunter2-runtime" {
		t.Fatalf("password %q", got)
	}
	_, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "secret.yaml", Decryption: fixtureKeys(t)})
	if !errors.Is(err, ErrDecryption) || !strings.Contains(err.Error(), mk.Fingerprint) {
		t.Fatalf("got %v, want no key, naming the fingerprint", err)
	}
}

// encryptTree encrypts tree with dataKey as sops does, sets its MAC and
// returns it with its metadata, ready to be written.
func encryptTree(t *testing.T, tree sops.Tree, dataKey []byte) sops.TreeBranches {
	t.Helper()
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := stores.SerializeMetadata(tree, stores.MetadataOpts{Flatten: stores.MetadataFlattenNone})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sopsEncryptWithKey is sopsEncrypt with a data key already given to mk.
func sopsEncryptWithKey(t *testing.T, plain string, dataKey []byte, mk keys.MasterKey) string {
	t.Helper()
	branches, err := yamlBranches([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{KeyGroups: []sops.KeyGroup{{mk}}, Version: "3.13.3"}}
	out := encryptTree(t, tree, dataKey)
	var buf bytes.Buffer
	if err := writeYAML(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestDetectSOPS(t *testing.T) {
	cases := []struct {
		name, data string
		format     sopsFormat
		want       bool
	}{
		{"a.yaml", "a: 1\nsops: {mac: x, version: 3}\n", formatYAML, true},
		{"a.yaml", "a: 1\nsops: {mac: x}\n", formatYAML, false},
		{"a.yaml", "kind: Kustomization\nspec: {decryption: {provider: sops}}\n", formatYAML, false},
		{"a.yaml", "a: 1\n---\nsops: {mac: x, version: 3}\n", formatYAML, false}, // only the first document
		{"a.json", `{"sops": {"mac": "x", "version": "3"}}`, formatJSON, true},
		{"a.json", `{"sops": "mac version"}`, formatJSON, false},
		{"a.env", "A=1\nsops_mac=x\nsops_version=3\n", formatDotenv, true},
		{"a.ini", "[a]\nb = 1\n[sops]\nmac = x\nversion = 3\n", formatINI, true},
		{"key", `{"data": "x", "sops": {"mac": "x", "version": "3"}}`, formatBinary, true},
		{"key", `{"a": "x", "sops": {"mac": "x", "version": "3"}}`, formatJSON, true},
		{"key", "a: 1\nsops: {mac: x, version: 3}\n", formatYAML, true},
		{"key", "plain text about sops\n", formatYAML, false},
	}
	for _, c := range cases {
		format, ok := detectSOPS(c.name, []byte(c.data))
		if ok != c.want || ok && format != c.format {
			t.Errorf("detectSOPS(%s, %q) = %v, %v; want %v, %v", c.name, c.data, format, ok, c.format, c.want)
		}
	}
}

// Run longer with: go test -run '^$' -fuzz FuzzDecryptSOPS -fuzztime 1m ./internal/render
func FuzzDecryptSOPS(f *testing.F) {
	for _, name := range []string{"secret.sops.yaml", "secret.sops.json", "app.sops.env", "tls.key.sops", "values.sops.yaml"} {
		data, err := os.ReadFile(filepath.Join(sopsFixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	f.Add("a.yaml", []byte("a: &a [*a]\nsops: {mac: x, version: 3}\n"))
	f.Add("a.json", []byte(`{"sops": {"mac": "x", "version": "3", "age": [{"recipient": "age1", "enc": "x"}]}}`))
	keyFile, err := os.ReadFile(filepath.Join(sopsFixtures, "age.key"))
	if err != nil {
		f.Fatal(err)
	}
	keys, err := parseDecryption(&Decryption{AgeKeys: []string{string(keyFile)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		opts := Options{MaxDepth: 32, MaxAliasNodes: 1000, MaxObjects: 100}.withDefaults()
		tr := &tree{b: newBudget(opts), keys: keys}
		plain, err := tr.decrypt("f"+path.Ext(name), data)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if err == nil && int64(len(plain)) > opts.MaxFileBytes {
			t.Fatalf("%d bytes out", len(plain))
		}
	})
}
