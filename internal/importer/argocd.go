package importer

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/strvals"
)

const argoTool = "Argo CD"

// inClusterServer is the address Argo CD gives the cluster it runs in.
const inClusterServer = "https://kubernetes.default.svc"

func convertArgoCD(objs []*object, res *Result) {
	for _, o := range objs {
		if !strings.HasPrefix(o.apiVersion, "argoproj.io/") {
			res.refuse(o.ref(), fmt.Sprintf("not an Argo CD object (apiVersion %q); Application, ApplicationSet and AppProject are converted", o.apiVersion))
			continue
		}
		switch o.kind {
		case "Application":
			argoApplication(o, res)
		case "AppProject":
			argoProject(o, res)
		case "ApplicationSet":
			argoApplicationSet(o, res)
		default:
			res.refuse(o.ref(), "kind "+o.kind+" is not convertible; Application, ApplicationSet and AppProject are")
		}
	}
}

func argoApplication(o *object, res *Result) {
	if n := o.count("spec.sources"); n > 1 {
		res.refuse(o.ref(), fmt.Sprintf("spec.sources has %d sources; a Flotilla Application has one: split it into one Application per source", n))
		return
	}
	src := "spec.source"
	if o.count("spec.sources") == 1 {
		src = "spec.sources.0"
	}
	doc := header("Application", o.name, o.get("metadata.labels"))
	spec := newMapping()
	spec.str("project", o.str("spec.project"))
	spec.sub("source", argoSource(o, src, res))
	spec.sub("destination", argoDestination(o, "spec.destination", res))
	spec.sub("syncPolicy", argoSyncPolicy(o, "spec.syncPolicy"))
	spec.set("ignoreDifferences", argoIgnoreDifferences(o, "spec.ignoreDifferences"))
	spec.str("deletionPolicy", argoDeletionPolicy(o))
	doc.sub("spec", spec)
	res.add(o, argoTool, "Application", doc.node)
}

// argoDeletionPolicy reads Argo CD's resources finalizer: with it, deleting
// the Application deletes its objects; without it, they are left in place.
func argoDeletionPolicy(o *object) string {
	fins := o.list("metadata.finalizers")
	for i, f := range fins {
		if s, _ := f.(string); strings.HasPrefix(s, "resources-finalizer.argocd.argoproj.io") {
			o.get(fmt.Sprintf("metadata.finalizers.%d", i))
			return "Delete"
		}
	}
	return "Orphan"
}

func argoSource(o *object, p string, res *Result) *mapping {
	m := newMapping()
	m.str("repoURL", o.str(p+".repoURL"))
	m.str("targetRevision", o.str(p+".targetRevision"))
	m.str("path", o.str(p+".path"))
	m.str("chart", o.str(p+".chart"))
	if o.has(p + ".helm") {
		m.sub("helm", argoHelm(o, p+".helm", res))
	}
	if o.has(p + ".kustomize") {
		m.sub("kustomize", argoKustomize(o, p+".kustomize"))
	}
	return m
}

func argoHelm(o *object, p string, res *Result) *mapping {
	m := newMapping()
	m.str("releaseName", o.str(p+".releaseName"))
	m.set("valueFiles", strs(stringsOf(o.list(p+".valueFiles"))))
	// Argo CD hands helm valuesObject when it is set, and values only
	// otherwise: never both (ApplicationSourceHelm.ValuesYAML).
	values := map[string]any{}
	if v, ok := o.get(p + ".valuesObject").(map[string]any); ok {
		values = maps.Clone(v) // parameters are set into it: the input stays as read
		if o.has(p + ".values") {
			o.str(p + ".values") // read: not left over, but ignored as Argo CD ignores it
			res.decide(o.ref(), "%s.values is ignored, as Argo CD ignores it when valuesObject is set: merge it into spec.source.helm.values if it was meant", p)
		}
	} else if s := o.str(p + ".values"); s != "" {
		if err := yaml.Unmarshal([]byte(s), &values); err != nil {
			res.decide(o.ref(), "%s.values is not a YAML map (%v): copy it into spec.source.helm.values by hand", p, err)
		}
	}
	argoParameters(o, p, values, res)
	if len(values) > 0 {
		m.set("values", anyNode(values))
	}
	return m
}

// argoParameters sets the helm parameters of the source at p into values,
// as Argo CD hands them to helm: after every values file, each with --set
// (or --set-string with forceString), so that "a.b[0]=3" sets a nested
// value and "3" is a number. A comma in a value is taken literally.
func argoParameters(o *object, p string, values map[string]any, res *Result) {
	for i := range o.count(p + ".parameters") {
		pp := fmt.Sprintf("%s.parameters.%d", p, i)
		name, value := o.str(pp+".name"), o.str(pp+".value")
		set := strvals.ParseInto
		if o.boolean(pp + ".forceString") {
			set = strvals.ParseIntoString
		}
		if err := set(name+"="+strings.ReplaceAll(value, ",", `\,`), values); name == "" || err != nil {
			res.decide(o.ref(), "%s (%q) cannot be read as a helm --set (%v): write it into spec.source.helm.values", pp, name, err)
		}
	}
}

// argoImage matches Argo CD's image override forms: [old=]name[:tag|@digest].
var argoImage = regexp.MustCompile(`^(?:([^=]+)=)?([^:@]+(?::\d+/[^:@]+)?)(?::([^@]+))?(?:@(.+))?$`)

func argoKustomize(o *object, p string) *mapping {
	m := newMapping()
	m.str("namePrefix", o.str(p+".namePrefix"))
	images := seq()
	for i := range o.count(p + ".images") {
		ip := fmt.Sprintf("%s.images.%d", p, i)
		parts := argoImage.FindStringSubmatch(o.str(ip))
		if parts == nil {
			continue
		}
		img := newMapping()
		name, newName := parts[1], parts[2]
		if name == "" {
			name, newName = newName, ""
		}
		img.str("name", name)
		img.str("newName", newName)
		img.str("newTag", parts[3])
		img.str("digest", parts[4])
		images.Content = append(images.Content, img.node)
	}
	m.set("images", images)
	patches := kustomizePatches(o, p+".patches")
	m.set("patches", patches)
	return m
}

func argoDestination(o *object, p string, res *Result) *mapping {
	m := newMapping()
	name, server := o.str(p+".name"), o.str(p+".server")
	switch {
	case name == "in-cluster" || (name == "" && server == inClusterServer):
		m.str("cluster", "in-cluster")
	case name != "":
		m.str("cluster", name)
		res.decide(o.ref(), "destination.cluster %q: register that cluster under this name (flotilla cluster add)", name)
	case server != "":
		cluster := clusterName(server)
		k := m.str("cluster", cluster)
		k.LineComment = "was server: " + server
		res.decide(o.ref(), "destination.server %s: register that cluster as %q (flotilla cluster add) or change the name", server, cluster)
	}
	m.str("namespace", o.str(p+".namespace"))
	return m
}

// clusterName makes a Cluster name from a server address: its host, in the
// letters a Kubernetes name allows.
func clusterName(server string) string {
	host := server
	if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func argoSyncPolicy(o *object, p string) *mapping {
	m := newMapping()
	if o.has(p + ".automated") {
		auto := newMapping()
		auto.boolean("prune", o.boolean(p+".automated.prune"))
		auto.boolean("selfHeal", o.boolean(p+".automated.selfHeal"))
		if auto.node.Content == nil {
			// automated: {} turns auto-sync on with neither option.
			auto.node.Style = yaml.FlowStyle
			m.node.Content = append(m.node.Content, str("automated"), auto.node)
		} else {
			m.sub("automated", auto)
		}
		m.boolean("allowEmpty", o.boolean(p+".automated.allowEmpty"))
	}
	for i, opt := range o.list(p + ".syncOptions") {
		if s, _ := opt.(string); s == "CreateNamespace=true" {
			o.get(fmt.Sprintf("%s.syncOptions.%d", p, i))
			m.boolean("createNamespace", true)
		}
	}
	delete(o.used, p+".syncOptions")
	if o.has(p + ".retry") {
		retry := newMapping()
		if s := o.str(p + ".retry.limit"); s != "" {
			if n, err := strconv.ParseInt(s, 10, 32); err == nil {
				retry.integer("limit", n)
			}
		}
		backoff := newMapping()
		backoff.str("duration", o.str(p+".retry.backoff.duration"))
		if s := o.str(p + ".retry.backoff.factor"); s != "" {
			if n, err := strconv.ParseInt(s, 10, 32); err == nil {
				backoff.integer("factor", n)
			}
		}
		backoff.str("maxDuration", o.str(p+".retry.backoff.maxDuration"))
		retry.sub("backoff", backoff)
		m.sub("retry", retry)
	}
	return m
}

func argoIgnoreDifferences(o *object, p string) *yaml.Node {
	out := seq()
	for i := range o.count(p) {
		ip := fmt.Sprintf("%s.%d", p, i)
		d := newMapping()
		d.str("group", o.str(ip+".group"))
		d.str("kind", o.str(ip+".kind"))
		d.str("name", o.str(ip+".name"))
		d.str("namespace", o.str(ip+".namespace"))
		d.set("jsonPointers", strs(stringsOf(o.list(ip+".jsonPointers"))))
		d.set("managedFieldsManagers", strs(stringsOf(o.list(ip+".managedFieldsManagers"))))
		out.Content = append(out.Content, d.node)
	}
	return out
}
