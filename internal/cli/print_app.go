package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// newTable is a tabwriter laid out as kubectl's tables are.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 3, ' ', 0) }

// shortRevision shortens a commit SHA to 7 characters and a digest to its
// algorithm and 7 characters; tags and branches stay whole.
func shortRevision(rev string) string {
	if algo, hex, ok := strings.Cut(rev, ":"); ok && isHex(hex) && len(hex) > 7 {
		return algo + ":" + hex[:7]
	}
	if len(rev) >= 40 && isHex(rev) {
		return rev[:7]
	}
	return orDash(rev)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// manyNamespaces says whether a table needs a NAMESPACE column.
func manyNamespaces[T any](items []T, ns func(T) string) bool {
	for _, it := range items {
		if ns(it) != ns(items[0]) {
			return true
		}
	}
	return false
}

// row writes tab-separated cells, the first ones only when lead is true.
func row(tw io.Writer, lead bool, first string, cells ...string) {
	if lead {
		cells = append([]string{first}, cells...)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

func appsView(apps []flotillav1.Application, now time.Time) view {
	list := &flotillav1.ApplicationList{Items: apps}
	list.APIVersion, list.Kind = flotillav1.GroupVersion.String(), "ApplicationList"
	names := make([]string, len(apps))
	for i := range apps {
		apps[i].APIVersion, apps[i].Kind = flotillav1.GroupVersion.String(), "Application"
		apps[i].ManagedFields = nil
		names[i] = "application/" + apps[i].Name
	}
	return view{object: list, names: names, table: func(w io.Writer, wide bool) error {
		return printAppTable(w, apps, now, wide)
	}}
}

func printAppTable(w io.Writer, apps []flotillav1.Application, now time.Time, wide bool) error {
	tw := newTable(w)
	nsCol := manyNamespaces(apps, func(a flotillav1.Application) string { return a.Namespace })
	head := "NAME\tPROJECT\tCLUSTER\tSYNC\tHEALTH\tREVISION\tAGE"
	if wide {
		head += "\tDESTINATION\tREPOSITORY\tPATH\tTARGET\tOPERATION"
	}
	row(tw, nsCol, "NAMESPACE", head)
	for _, a := range apps {
		cells := []string{a.Name, orDash(a.Spec.Project), orDash(a.Spec.Destination.Cluster),
			orDash(string(a.Status.Sync.Status)), orDash(string(a.Status.Health.Status)),
			shortRevision(a.Status.Sync.Revision), age(a.CreationTimestamp, now)}
		if wide {
			src := a.Spec.Source
			cells = append(cells, orDash(a.Spec.Destination.Namespace), src.RepoURL, orDash(src.Path+src.Chart),
				orDash(src.TargetRevision), operationPhase(a.Status.Operation))
		}
		row(tw, nsCol, a.Namespace, cells...)
	}
	return tw.Flush()
}

func operationPhase(op *flotillav1.OperationState) string {
	if op == nil {
		return "-"
	}
	return string(op.Phase)
}

// printAppDetail prints one Application as `app get` shows it.
func printAppDetail(w io.Writer, a *flotillav1.Application, now time.Time, wide bool) error {
	tw := newTable(w)
	src := a.Spec.Source
	field(tw, "Name", a.Namespace+"/"+a.Name)
	field(tw, "Project", orDash(a.Spec.Project))
	field(tw, "Repository", src.RepoURL)
	if src.Chart != "" {
		field(tw, "Chart", src.Chart)
	}
	field(tw, "Path", orDash(src.Path))
	field(tw, "Target", orDash(src.TargetRevision))
	field(tw, "Destination", fmt.Sprintf("cluster %s, namespace %s", orDash(a.Spec.Destination.Cluster), orDash(a.Spec.Destination.Namespace)))
	field(tw, "Sync policy", syncPolicy(a.Spec.SyncPolicy))
	field(tw, "Sync", fmt.Sprintf("%s at %s", orDash(string(a.Status.Sync.Status)), shortRevision(a.Status.Sync.Revision)))
	if c := revisionCommit(a.Status); c != "" {
		field(tw, "Commit", c)
	}
	field(tw, "Health", joinMessage(orDash(string(a.Status.Health.Status)), a.Status.Health.Message))
	if op := a.Status.Operation; op != nil {
		field(tw, "Operation", joinMessage(fmt.Sprintf("%s %s", op.Phase, since(op.FinishedAt, op.StartedAt, now)), op.Message))
	}
	if p := a.Status.Pin; p != nil {
		field(tw, "Pinned", fmt.Sprintf("history %d (%s) since %s ago", p.HistoryID, shortRevision(p.Revision), age(p.Since, now)))
	}
	field(tw, "Age", age(a.CreationTimestamp, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printConditions(w, a.Status.Conditions, now); err != nil {
		return err
	}
	return printInventory(w, a.Status.Resources, wide)
}

// revisionCommit is the commit message (its first line) and author of the
// revision the Application is synced to, from its history entry, or "".
func revisionCommit(st flotillav1.ApplicationStatus) string {
	for i := len(st.History) - 1; i >= 0; i-- {
		h := st.History[i]
		if h.Revision != st.Sync.Revision || st.Sync.Revision == "" {
			continue
		}
		msg, author := oneLine(firstLine(h.Message)), oneLine(h.Author)
		if author == "" {
			return msg
		}
		return strings.TrimSpace(msg + " (" + author + ")")
	}
	return ""
}

// plainText replaces the characters a terminal would act on (escape
// sequences, carriage returns) with spaces.
func plainText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
}

func field(tw io.Writer, name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }

func joinMessage(s, msg string) string {
	if msg == "" {
		return s
	}
	return s + ": " + msg
}

func since(finished, started *metav1.Time, now time.Time) string {
	switch {
	case finished != nil:
		return age(*finished, now) + " ago"
	case started != nil:
		return "since " + age(*started, now)
	}
	return ""
}

func syncPolicy(p flotillav1.SyncPolicy) string {
	if p.Automated == nil {
		return "manual"
	}
	opts := []string{}
	if p.Automated.Prune {
		opts = append(opts, "prune")
	}
	if p.Automated.SelfHeal {
		opts = append(opts, "self-heal")
	}
	if len(opts) == 0 {
		return "automated"
	}
	return "automated (" + strings.Join(opts, ", ") + ")"
}

func printConditions(w io.Writer, conds []metav1.Condition, now time.Time) error {
	if len(conds) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nConditions:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range conds {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orDash(c.Reason), age(c.LastTransitionTime, now), oneLine(c.Message))
	}
	return tw.Flush()
}

func printInventory(w io.Writer, res []flotillav1.ResourceStatus, wide bool) error {
	if len(res) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nResources:")
	tw := newTable(w)
	head := "  KIND\tNAMESPACE\tNAME\tSYNC\tHEALTH"
	if wide {
		head += "\tGROUP\tVERSION\tMESSAGE"
	}
	fmt.Fprintln(tw, head)
	for _, r := range res {
		line := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s", r.Kind, orDash(r.Namespace), r.Name, orDash(string(r.Sync)), orDash(string(r.Health)))
		if wide {
			line += fmt.Sprintf("\t%s\t%s\t%s", orDash(r.Group), r.Version, oneLine(r.Message))
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// maxLine bounds a line of oneLine, in bytes.
const maxLine = 200

// oneLine keeps a message on one line of a table or a commit status: the
// characters a terminal would act on become spaces, runs of white space
// one space, and a longer line is cut at a character's start to maxLine
// bytes, then marked with an ellipsis.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(plainText(s)), " ")
	if len(s) <= maxLine {
		return s
	}
	end := maxLine
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "…"
}
