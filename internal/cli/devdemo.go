package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// setUpFlotilla installs Flotilla into the hub of a new dev fleet, registers
// the other clusters, starts the controller beside the fleet and, with an
// examples folder, deploys the examples from a git repository made of it.
func setUpFlotilla(ctx context.Context, out io.Writer, f *localfleet.Fleet, examples string) error {
	hub := f.Clusters[0]
	if _, err := Install(ctx, hub.RESTConfig(), flotillav1.DefaultNamespace); err != nil {
		return fmt.Errorf("install Flotilla into %s: %w", hub.Name, err)
	}
	fmt.Fprintf(out, "Installed Flotilla's CRDs into %s.\n", hub.Name)
	scheme, err := controller.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(hub.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	for _, cl := range f.Clusters[1:] {
		if err := registerDevCluster(ctx, c, cl); err != nil {
			return err
		}
	}
	if len(f.Clusters) > 1 {
		fmt.Fprintf(out, "Registered %d workload clusters, each through its ServiceAccount %s/%s.\n", len(f.Clusters)-1, cluster.ManagerNamespace, cluster.ManagerName)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	metrics, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	err = f.StartExtra("flotilla-controller", self, []string{"controller",
		"--kubeconfig", f.Kubeconfig(), "--context", hub.Name,
		"--allow-local-repos",
		"--metrics-addr", metrics, "--health-addr", "0",
		"--cache-dir", filepath.Join(f.Dir, "cache"),
	})
	if err != nil {
		return fmt.Errorf("start the controller: %w", err)
	}
	fmt.Fprintf(out, "Started the controller: metrics on http://%s/metrics, log in %s.\n",
		metrics, filepath.Join(f.Dir, "logs", "flotilla-controller.log"))
	if examples == "" {
		return nil
	}
	return deployExamples(ctx, out, c, f, examples)
}

// registerDevCluster registers a workload cluster as `flotilla cluster add`
// does: through a ServiceAccount token, labelled env=dev.
func registerDevCluster(ctx context.Context, c client.Client, cl *localfleet.Cluster) error {
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Labels = cl.Name, map[string]string{"env": "dev"}
	_, err := cluster.Register(ctx, cl.RESTConfig(), c, opts)
	return err
}

// deployExamples commits the examples folder into a git repository in the
// state folder and creates an Application per guestbook overlay: staging on
// the first workload cluster, prod on the second (or the hub when there are
// fewer clusters).
func deployExamples(ctx context.Context, out io.Writer, c client.Client, f *localfleet.Fleet, examples string) error {
	repo := filepath.Join(f.Dir, "examples.git")
	if err := gitRepoFrom(ctx, examples, repo); err != nil {
		return fmt.Errorf("examples repository: %w", err)
	}
	dest := func(i int) string {
		if i < len(f.Clusters) {
			return f.Clusters[i].Name
		}
		return flotillav1.InCluster
	}
	apps := map[string]string{"guestbook-staging": dest(1), "guestbook-prod": dest(2)}
	for name, cluster := range apps {
		overlay := name[len("guestbook-"):]
		app := &flotillav1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Spec: flotillav1.ApplicationSpec{
				Source: flotillav1.ApplicationSource{
					RepoURL: "file://" + repo, TargetRevision: "main", Path: "guestbook/overlays/" + overlay,
				},
				Destination: flotillav1.Destination{Cluster: cluster, Namespace: "guestbook"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated:       &flotillav1.AutomatedSync{Prune: true, SelfHeal: true},
					CreateNamespace: true,
					Interval:        &metav1.Duration{Duration: time.Minute},
				},
			},
		}
		if err := c.Create(ctx, app); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		fmt.Fprintf(out, "Application %s: %s → %s/guestbook\n", name, app.Spec.Source.Path, cluster)
	}
	return waitExamplesSynced(ctx, out, c, len(apps))
}

func waitExamplesSynced(ctx context.Context, out io.Writer, c client.Client, n int) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list flotillav1.ApplicationList
		if err := c.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
			return false, nil
		}
		synced := 0
		for _, a := range list.Items {
			if a.Status.Sync.Status == flotillav1.SyncStatusSynced {
				synced++
			}
		}
		return synced >= n, nil
	})
	if err != nil {
		return fmt.Errorf("the example Applications did not sync; see the controller log: %w", err)
	}
	fmt.Fprintf(out, "The example Applications are Synced.\n")
	return nil
}

// gitRepoFrom makes a repository at dir whose main branch holds the files of src.
func gitRepoFrom(ctx context.Context, src, dir string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return errors.New(src + " is not a folder")
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	steps := [][]string{
		{"init", "--quiet", "--initial-branch=main", dir},
		{"-C", dir, "--work-tree", abs, "add", "--all", "."},
		{"-C", dir, "--work-tree", abs, "-c", "user.name=flotilla", "-c", "user.email=dev@flotilla.invalid", "commit", "--quiet", "-m", "examples"},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", args[len(args)-1], err, out)
		}
	}
	return nil
}

// freeLoopbackAddr returns a free host:port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
