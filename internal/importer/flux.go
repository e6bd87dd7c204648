package importer

import (
	yaml "go.yaml.in/yaml/v3"

	"fmt"
	"strings"
)

const fluxTool = "Flux"

// fluxSources are the source kinds a Kustomization or HelmRelease may name.
var fluxSources = map[string]bool{"GitRepository": true, "OCIRepository": true, "HelmRepository": true}

// fluxInput holds the sources of the input, by Kind/namespace/name, and
// which of them a converted object has used.
type fluxInput struct {
	sources map[string]*object
	used    map[*object]bool
}

func convertFlux(objs []*object, res *Result) {
	in := &fluxInput{sources: map[string]*object{}, used: map[*object]bool{}}
	for _, o := range objs {
		if fluxSources[o.kind] && strings.HasPrefix(o.apiVersion, "source.toolkit.fluxcd.io/") {
			in.sources[o.kind+"/"+o.namespace+"/"+o.name] = o
		}
	}
	for _, o := range objs {
		switch {
		case o.kind == "Kustomization" && strings.HasPrefix(o.apiVersion, "kustomize.toolkit.fluxcd.io/"):
			fluxKustomization(o, in, res)
		case o.kind == "HelmRelease" && strings.HasPrefix(o.apiVersion, "helm.toolkit.fluxcd.io/"):
			fluxHelmRelease(o, in, res)
		case in.sources[o.kind+"/"+o.namespace+"/"+o.name] == o:
			// converted with the objects that name it
		default:
			res.refuse(o.ref(), fmt.Sprintf("kind %s (apiVersion %q) is not convertible; GitRepository, OCIRepository, HelmRepository, Kustomization and HelmRelease are", o.kind, o.apiVersion))
		}
	}
	for _, o := range objs {
		if in.sources[o.kind+"/"+o.namespace+"/"+o.name] == o && !in.used[o] {
			res.refuse(o.ref(), "no Kustomization or HelmRelease of the input uses it; Flotilla keeps the source in each Application")
		}
	}
}

// source finds the source a sourceRef at path names; the first object to
// use a source carries the comments on its unconverted fields.
func (in *fluxInput) source(o *object, path string, res *Result) (src *object, first bool) {
	kind, name := o.str(path+".kind"), o.str(path+".name")
	ns := o.str(path + ".namespace")
	if ns == "" {
		ns = o.namespace
	}
	if !fluxSources[kind] {
		res.refuse(o.ref(), fmt.Sprintf("its source is a %s, which is not convertible; GitRepository, OCIRepository and HelmRepository are", kind))
		return nil, false
	}
	src = in.sources[kind+"/"+ns+"/"+name]
	if src == nil {
		res.refuse(o.ref(), fmt.Sprintf("its source %s/%s/%s is not in the input; import them together", kind, ns, name))
		return nil, false
	}
	first = !in.used[src]
	in.used[src] = true
	return src, first
}

// fluxSource converts a source's address, revision, credentials and
// verification into an Application's source.
func fluxSource(src *object, owner string, res *Result) *mapping {
	m := newMapping()
	url := src.str("spec.url")
	switch src.kind {
	case "GitRepository":
		m.str("repoURL", url)
		m.str("targetRevision", firstOf(src, "spec.ref", "commit", "name", "semver", "tag", "branch"))
	case "OCIRepository":
		m.str("repoURL", url)
		m.str("targetRevision", firstOf(src, "spec.ref", "digest", "semver", "tag"))
	case "HelmRepository":
		m.str("repoURL", url)
		src.get("spec.type") // oci or default: both are a Helm repository's repoURL
	}
	if name := src.str("spec.secretRef.name"); name != "" {
		m.sub("credentialsRef", named(name))
		res.decide(owner, "credentials Secret %q (from %s): Flotilla reads the keys username, password, bearerToken, caCert, sshPrivateKey and knownHosts; rename Flux's keys (identity, known_hosts, ca.crt) to match", name, src.ref())
	}
	if src.has("spec.verify") {
		v := newMapping()
		provider := src.str("spec.verify.provider")
		if provider == "" || provider == "openpgp" || src.kind == "GitRepository" {
			provider = "gpg"
		}
		src.get("spec.verify.mode")
		v.str("provider", provider)
		secret := src.str("spec.verify.secretRef.name")
		if secret == "" {
			res.decide(owner, "%s verifies without a key Secret (keyless); Flotilla verifies against keys in a Secret: create one", src.ref())
		}
		v.sub("secretRef", named(secret))
		m.sub("verify", v)
	}
	return m
}

func firstOf(o *object, path string, fields ...string) string {
	for _, f := range fields {
		if v := o.str(path + "." + f); v != "" {
			return v
		}
	}
	return ""
}

func named(name string) *mapping {
	m := newMapping()
	m.str("name", name)
	return m
}

// fluxPath turns Flux's "./apps/prod" into Flotilla's "apps/prod".
func fluxPath(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
	if p == "." {
		return ""
	}
	return strings.TrimSuffix(p, "/")
}

func fluxKustomization(o *object, in *fluxInput, res *Result) {
	src, first := in.source(o, "spec.sourceRef", res)
	if src == nil {
		return
	}
	if src.kind == "HelmRepository" {
		res.refuse(o.ref(), "its sourceRef is a HelmRepository; a Kustomization needs a GitRepository or an OCIRepository")
		return
	}
	doc := header("Application", o.name, o.get("metadata.labels"))
	spec := newMapping()
	source := fluxSource(src, o.ref(), res)
	source.str("path", fluxPath(o.str("spec.path")))
	if o.has("spec.namePrefix") || o.has("spec.images") || o.has("spec.patches") {
		source.sub("kustomize", fluxKustomize(o))
	}
	if o.has("spec.decryption") {
		d := newMapping()
		d.str("provider", o.str("spec.decryption.provider"))
		d.sub("secretRef", named(o.str("spec.decryption.secretRef.name")))
		source.sub("decryption", d)
	}
	spec.sub("source", source)
	spec.sub("destination", fluxDestination(o, "spec.targetNamespace", res))
	spec.sub("syncPolicy", fluxSyncPolicy(o, o.boolean("spec.prune"), false))
	spec.set("dependsOn", fluxDependsOn(o))
	if o.boolean("spec.prune") {
		spec.str("deletionPolicy", "Delete")
	} else {
		spec.str("deletionPolicy", "Orphan")
	}
	doc.sub("spec", spec)
	fluxCommon(o, res)
	res.add(o, fluxTool, "Application", doc.node, firstSource(src, first)...)
}

func firstSource(src *object, first bool) []*object {
	if first {
		return []*object{src}
	}
	return nil
}

func fluxKustomize(o *object) *mapping {
	m := newMapping()
	m.str("namePrefix", o.str("spec.namePrefix"))
	images := seq()
	for i := range o.count("spec.images") {
		p := fmt.Sprintf("spec.images.%d", i)
		img := newMapping()
		for _, f := range []string{"name", "newName", "newTag", "digest"} {
			img.str(f, o.str(p+"."+f))
		}
		images.Content = append(images.Content, img.node)
	}
	m.set("images", images)
	patches := kustomizePatches(o, "spec.patches")
	m.set("patches", patches)
	return m
}

// fluxDestination is the hub itself unless the object names a kubeconfig.
func fluxDestination(o *object, nsPath string, res *Result) *mapping {
	m := newMapping()
	if name := o.str("spec.kubeConfig.secretRef.name"); name != "" {
		k := m.str("cluster", name)
		k.LineComment = "was kubeConfig.secretRef: " + name
		res.decide(o.ref(), "it deploys through the kubeconfig in Secret %q: register that cluster (flotilla cluster add) under the name given here", name)
	} else {
		m.str("cluster", "in-cluster")
	}
	if ns := o.str(nsPath); ns != "" {
		k := m.str("namespace", ns)
		k.LineComment = "Flux's targetNamespace overrides every object's namespace; Flotilla's only fills in a missing one"
	}
	return m
}

// fluxSyncPolicy: Flux applies on its own and corrects drift at every
// interval, which is Flotilla's automated sync with selfHeal; a suspended
// object is converted without automated sync.
func fluxSyncPolicy(o *object, prune, createNamespace bool) *mapping {
	m := newMapping()
	if !o.boolean("spec.suspend") {
		auto := newMapping()
		auto.boolean("prune", prune)
		auto.boolean("selfHeal", true)
		m.sub("automated", auto)
	}
	m.boolean("createNamespace", createNamespace)
	m.str("interval", o.str("spec.interval"))
	return m
}

func fluxDependsOn(o *object) *yaml.Node {
	out := seq()
	for i := range o.count("spec.dependsOn") {
		p := fmt.Sprintf("spec.dependsOn.%d", i)
		d := newMapping()
		d.str("name", o.str(p+".name"))
		if ns := o.str(p + ".namespace"); ns != "" && ns != o.namespace {
			d.node.Content[1].LineComment = "was in namespace " + ns + "; Flotilla's Applications share one namespace"
		}
		out.Content = append(out.Content, d.node)
	}
	return out
}

// fluxCommon lists the decisions every Flux object may need.
func fluxCommon(o *object, res *Result) {
	if sa := o.str("spec.serviceAccountName"); sa != "" {
		res.decide(o.ref(), "it impersonates ServiceAccount %q: set serviceAccount in the Application's Project", sa)
	}
	if o.has("spec.postBuild") {
		res.decide(o.ref(), "spec.postBuild substitutes variables, which Flotilla does not: write the values into the manifests or a kustomize overlay")
	}
	if o.boolean("spec.suspend") {
		res.decide(o.ref(), "it is suspended: converted without automated sync")
	}
}

// kustomizePatches converts the list of kustomize patches at path, alike in
// Argo CD's Applications and Flux's Kustomizations: each a patch and an
// optional target.
func kustomizePatches(o *object, path string) *yaml.Node {
	patches := seq()
	for i := range o.count(path) {
		pp := fmt.Sprintf("%s.%d", path, i)
		patch := newMapping()
		patch.str("patch", o.str(pp+".patch"))
		if o.has(pp + ".target") {
			t := newMapping()
			for _, f := range []string{"group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"} {
				t.str(f, o.str(pp+".target."+f))
			}
			patch.sub("target", t)
		}
		patches.Content = append(patches.Content, patch.node)
	}
	return patches
}
