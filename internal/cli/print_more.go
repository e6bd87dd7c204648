package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

func printHistory(w io.Writer, entries []wire.HistoryEntry, now time.Time, wide bool) error {
	tw := newTable(w)
	head := "ID\tREVISION\tDEPLOYED\tMESSAGE"
	if wide {
		head = "ID\tREVISION\tDEPLOYED\tAUTHOR\tMESSAGE"
	}
	fmt.Fprintln(tw, head)
	for _, h := range entries {
		rev, msg := shortRevision(h.Revision), orDash(oneLine(firstLine(h.Message)))
		deployed := age(metav1.NewTime(h.DeployedAt), now) + " ago"
		if wide {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", h.ID, h.Revision, deployed, orDash(h.Author), msg)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", h.ID, rev, deployed, msg)
	}
	return tw.Flush()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// maxTreeDepth is how deep the tree is shown.
const maxTreeDepth = 16

func historyView(entries []wire.HistoryEntry, now time.Time) view {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = fmt.Sprint(e.ID)
	}
	return view{object: entries, names: names,
		table: func(w io.Writer, wide bool) error { return printHistory(w, entries, now, wide) }}
}

func treeView(tree *wire.Tree) view {
	names := make([]string, len(tree.Nodes))
	for i, n := range tree.Nodes {
		names[i] = strings.ToLower(n.Kind) + "/" + n.Name
	}
	return view{object: tree, names: names, table: func(w io.Writer, wide bool) error { return printTree(w, tree, wide) }}
}

// printTree prints an Application's tree: each managed object, and under it
// the children found through owner references.
func printTree(w io.Writer, tree *wire.Tree, wide bool) error {
	nodes := tree.Nodes
	byUID := map[string]bool{}
	for _, n := range nodes {
		if n.UID != "" {
			byUID[n.UID] = true
		}
	}
	children := map[string][]wire.ResourceNode{}
	var roots []wire.ResourceNode
	for _, n := range nodes {
		parent := ""
		for _, p := range n.Parents {
			if byUID[p.UID] {
				parent = p.UID
				break
			}
		}
		if parent == "" {
			roots = append(roots, n)
			continue
		}
		children[parent] = append(children[parent], n)
	}
	tw := newTable(w)
	head := "KIND/NAME\tNAMESPACE\tSYNC\tHEALTH"
	if wide {
		head += "\tGROUP\tMESSAGE"
	}
	fmt.Fprintln(tw, head)
	var walk func(n wire.ResourceNode, prefix, indent string, depth int)
	walk = func(n wire.ResourceNode, prefix, indent string, depth int) {
		health, msg := "-", ""
		if n.Health != nil {
			health, msg = orDash(n.Health.Status), n.Health.Message
		}
		line := fmt.Sprintf("%s%s/%s\t%s\t%s\t%s", prefix, n.Kind, n.Name, orDash(n.Namespace), orDash(n.Sync), health)
		if wide {
			line += fmt.Sprintf("\t%s\t%s", orDash(n.Group), oneLine(msg))
		}
		fmt.Fprintln(tw, line)
		if depth >= maxTreeDepth || n.UID == "" { // owner references can loop
			return
		}
		kids := children[n.UID]
		sortNodes(kids)
		for i, k := range kids {
			if i == len(kids)-1 {
				walk(k, indent+"└─", indent+"  ", depth+1)
			} else {
				walk(k, indent+"├─", indent+"│ ", depth+1)
			}
		}
	}
	sortNodes(roots)
	for _, r := range roots {
		walk(r, "", "", 0)
	}
	return tw.Flush()
}

func sortNodes(nodes []wire.ResourceNode) {
	slices.SortFunc(nodes, func(a, b wire.ResourceNode) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

func fleetsView(fleets []flotillav1.Fleet, now time.Time) view {
	list := &flotillav1.FleetList{Items: fleets}
	list.APIVersion, list.Kind = flotillav1.GroupVersion.String(), "FleetList"
	names := make([]string, len(fleets))
	for i := range fleets {
		fleets[i].APIVersion, fleets[i].Kind = flotillav1.GroupVersion.String(), "Fleet"
		fleets[i].ManagedFields = nil
		names[i] = "fleet/" + fleets[i].Name
	}
	return view{object: list, names: names, table: func(w io.Writer, wide bool) error {
		return printFleetTable(w, fleets, now, wide)
	}}
}

func printFleetTable(w io.Writer, fleets []flotillav1.Fleet, now time.Time, wide bool) error {
	tw := newTable(w)
	nsCol := manyNamespaces(fleets, func(f flotillav1.Fleet) string { return f.Namespace })
	head := "NAME\tPROJECT\tCLUSTERS\tSYNCED\tHEALTHY\tREVISION\tAGE"
	if wide {
		head += "\tSELECTOR\tREPOSITORY\tPATH"
	}
	row(tw, nsCol, "NAMESPACE", head)
	for _, f := range fleets {
		s := f.Status.Summary
		cells := []string{f.Name, orDash(f.Spec.Project), fmt.Sprint(s.Clusters), fmt.Sprint(s.Synced), fmt.Sprint(s.Healthy),
			shortRevision(f.Status.Revision), age(f.CreationTimestamp, now)}
		if wide {
			cells = append(cells, selectorString(f.Spec.ClusterSelector), f.Spec.Template.Source.RepoURL,
				orDash(f.Spec.Template.Source.Path+f.Spec.Template.Source.Chart))
		}
		row(tw, nsCol, f.Namespace, cells...)
	}
	return tw.Flush()
}

func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "<all>"
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil || sel.String() == "" {
		return "<all>"
	}
	return sel.String()
}

func printFleetDetail(w io.Writer, f *apiclient.FleetDetail, now time.Time) error {
	tw := newTable(w)
	field(tw, "Name", f.Namespace+"/"+f.Name)
	field(tw, "Project", orDash(f.Spec.Project))
	field(tw, "Clusters", selectorString(f.Spec.ClusterSelector))
	field(tw, "Repository", f.Spec.Template.Source.RepoURL)
	field(tw, "Path", orDash(f.Spec.Template.Source.Path+f.Spec.Template.Source.Chart))
	field(tw, "Target", orDash(f.Spec.Template.Source.TargetRevision))
	field(tw, "Revision", shortRevision(f.Status.Revision))
	if f.Status.StableRevision != "" || f.Status.FailedRevision != "" {
		field(tw, "Stable", shortRevision(f.Status.StableRevision))
		field(tw, "Failed", shortRevision(f.Status.FailedRevision))
	}
	if r := f.Spec.Rollout; r != nil && r.Paused {
		field(tw, "Rollout", "paused")
	}
	s := f.Status.Summary
	field(tw, "Summary", fmt.Sprintf("%d clusters, %d synced, %d healthy", s.Clusters, s.Synced, s.Healthy))
	field(tw, "Age", age(f.CreationTimestamp, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printConditions(w, f.Status.Conditions, now); err != nil {
		return err
	}
	if len(f.Status.Waves) > 0 {
		fmt.Fprintln(w, "\nWaves:")
		tw = newTable(w)
		fmt.Fprintln(tw, "  WAVE\tPHASE\tREVISION\tCLUSTERS\tSINCE\tMESSAGE")
		for _, wv := range f.Status.Waves {
			since := "-"
			if wv.Since != nil {
				since = age(*wv.Since, now)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", wv.Name, orDash(string(wv.Phase)), shortRevision(wv.Revision),
				orDash(strings.Join(wv.Clusters, ",")), since, oneLine(wv.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(f.Clusters) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nClusters:")
	tw = newTable(w)
	fmt.Fprintln(tw, "  CLUSTER\tAPPLICATION\tSYNC\tHEALTH\tREVISION\tMESSAGE")
	for _, c := range f.Clusters {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", c.Cluster, orDash(c.Application), orDash(c.Sync), orDash(c.Health),
			shortRevision(c.Revision), oneLine(c.Message))
	}
	return tw.Flush()
}

func projectsView(projects []flotillav1.Project, now time.Time) view {
	list := &flotillav1.ProjectList{Items: projects}
	list.APIVersion, list.Kind = flotillav1.GroupVersion.String(), "ProjectList"
	names := make([]string, len(projects))
	for i := range projects {
		projects[i].APIVersion, projects[i].Kind = flotillav1.GroupVersion.String(), "Project"
		projects[i].ManagedFields = nil
		names[i] = "project/" + projects[i].Name
	}
	return view{object: list, names: names, table: func(w io.Writer, wide bool) error {
		return printProjectTable(w, projects, now, wide)
	}}
}

func printProjectTable(w io.Writer, projects []flotillav1.Project, now time.Time, wide bool) error {
	tw := newTable(w)
	nsCol := manyNamespaces(projects, func(p flotillav1.Project) string { return p.Namespace })
	head := "NAME\tSOURCES\tDESTINATIONS\tROLES\tAGE"
	if wide {
		head += "\tSERVICE-ACCOUNT"
	}
	row(tw, nsCol, "NAMESPACE", head)
	for _, p := range projects {
		cells := []string{p.Name, listOrAll(p.Spec.SourceRepos), listOrAll(destinations(p.Spec.Destinations)),
			listOrNone(roleNames(p.Spec.Roles)), age(p.CreationTimestamp, now)}
		if wide {
			cells = append(cells, orDash(p.Spec.ServiceAccount))
		}
		row(tw, nsCol, p.Namespace, cells...)
	}
	return tw.Flush()
}

func destinations(ds []flotillav1.ProjectDestination) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = cmp.Or(d.Cluster, "*") + "/" + cmp.Or(d.Namespace, "*")
	}
	return out
}

func roleNames(roles []flotillav1.ProjectRole) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.Name
	}
	return out
}

func listOrAll(items []string) string {
	if len(items) == 0 {
		return "*"
	}
	return strings.Join(items, ",")
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "<none>"
	}
	return strings.Join(items, ",")
}

func printProjectDetail(w io.Writer, p *flotillav1.Project, now time.Time) error {
	tw := newTable(w)
	field(tw, "Name", p.Namespace+"/"+p.Name)
	field(tw, "Sources", listOrAll(p.Spec.SourceRepos))
	field(tw, "Destinations", listOrAll(destinations(p.Spec.Destinations)))
	field(tw, "Service account", orDash(p.Spec.ServiceAccount))
	field(tw, "Age", age(p.CreationTimestamp, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printConditions(w, p.Status.Conditions, now); err != nil {
		return err
	}
	if len(p.Spec.Roles) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nRoles:")
	tw = newTable(w)
	fmt.Fprintln(tw, "  NAME\tGROUPS\tPOLICIES")
	for _, r := range p.Spec.Roles {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Name, listOrNone(r.Groups), listOrNone(r.Policies))
	}
	return tw.Flush()
}

func clustersView(clusters []flotillav1.Cluster, now time.Time) view {
	list := &flotillav1.ClusterList{Items: clusters}
	list.APIVersion, list.Kind = flotillav1.GroupVersion.String(), "ClusterList"
	names := make([]string, len(clusters))
	for i := range clusters {
		clusters[i].APIVersion, clusters[i].Kind = flotillav1.GroupVersion.String(), "Cluster"
		clusters[i].ManagedFields = nil
		names[i] = "cluster/" + clusters[i].Name
	}
	return view{object: list, names: names, table: func(w io.Writer, _ bool) error {
		return printClusterTable(w, clusters, now)
	}}
}

func printClusterDetail(w io.Writer, c *flotillav1.Cluster, now time.Time) error {
	tw := newTable(w)
	field(tw, "Name", c.Namespace+"/"+c.Name)
	field(tw, "Server", orDash(c.Spec.Server))
	field(tw, "Mode", string(cmp.Or(c.Spec.Mode, flotillav1.ClusterModePush)))
	field(tw, "Connected", fmt.Sprint(c.Status.Connected))
	field(tw, "Version", orDash(c.Status.KubernetesVersion))
	field(tw, "Applications", fmt.Sprint(c.Status.Applications))
	field(tw, "Labels", labelString(c.Labels))
	if hb := c.Status.LastHeartbeat; hb != nil {
		field(tw, "Last heartbeat", age(*hb, now)+" ago")
	}
	field(tw, "Age", age(c.CreationTimestamp, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	return printConditions(w, c.Status.Conditions, now)
}

// printDiff prints what a sync would change, one object after the other,
// and answers whether anything would.
func printDiff(w io.Writer, d *wire.Diff) (changed bool, err error) {
	counts := map[wire.DiffAction]int{}
	for _, r := range d.Resources {
		if r.Action == wire.DiffNone || r.Action == "" {
			continue
		}
		counts[r.Action]++
		name := r.Name
		if r.Namespace != "" {
			name = r.Namespace + "/" + r.Name
		}
		fmt.Fprintf(w, "===== %s %s (%s)\n", r.Kind, name, r.Action)
		text := r.Diff
		switch {
		case text != "":
		case r.Action == wire.DiffCreate:
			text = prefixLines(r.Desired, "+")
		case r.Action == wire.DiffDelete:
			text = prefixLines(r.Live, "-")
		}
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if _, err := io.WriteString(w, text); err != nil {
			return false, err
		}
	}
	n := counts[wire.DiffCreate] + counts[wire.DiffUpdate] + counts[wire.DiffDelete]
	if n == 0 {
		_, err := fmt.Fprintf(w, "No differences at revision %s.\n", shortRevision(d.Revision))
		return false, err
	}
	_, err = fmt.Fprintf(w, "At revision %s: %d to create, %d to update, %d to delete.\n", shortRevision(d.Revision),
		counts[wire.DiffCreate], counts[wire.DiffUpdate], counts[wire.DiffDelete])
	return true, err
}

func prefixLines(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}
