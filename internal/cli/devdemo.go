package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/server"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
)

// setUpFlotilla installs Flotilla into the hub of a new dev fleet, registers
// the other clusters, starts the controller beside the fleet and, with an
// examples folder, deploys the examples from a git repository made of it.
// It starts the API server too, before the examples, so that they are
// listed there at once.
func setUpFlotilla(ctx context.Context, out io.Writer, f *localfleet.Fleet, examples string) (*devServer, error) {
	hub := f.Clusters[0]
	if _, err := Install(ctx, hub.RESTConfig(), flotillav1.DefaultNamespace); err != nil {
		return nil, fmt.Errorf("install Flotilla into %s: %w", hub.Name, err)
	}
	fmt.Fprintf(out, "Installed Flotilla's CRDs into %s.\n", hub.Name)
	scheme, err := controller.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(hub.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	for _, cl := range f.Clusters[1:] {
		if err := registerDevCluster(ctx, c, cl); err != nil {
			return nil, err
		}
	}
	if len(f.Clusters) > 1 {
		fmt.Fprintf(out, "Registered %d workload clusters, each through its ServiceAccount %s/%s.\n", len(f.Clusters)-1, cluster.ManagerNamespace, cluster.ManagerName)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	metrics, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	err = f.StartExtra("flotilla-controller", self, []string{"controller",
		"--kubeconfig", f.Kubeconfig(), "--context", hub.Name,
		"--allow-local-repos",
		"--metrics-addr", metrics, "--health-addr", "0",
		"--cache-dir", filepath.Join(f.Dir, "cache"),
	})
	if err != nil {
		return nil, fmt.Errorf("start the controller: %w", err)
	}
	fmt.Fprintf(out, "Started the controller: metrics on http://%s/metrics, log in %s.\n",
		metrics, filepath.Join(f.Dir, "logs", "flotilla-controller.log"))
	srv, err := startDevServer(ctx, out, c, f, self)
	if err != nil {
		return nil, err
	}
	if examples == "" {
		return srv, nil
	}
	return srv, deployExamples(ctx, out, c, f, examples)
}

// devServer is the `flotilla server` of a dev fleet: where it serves, the
// file of its self-signed certificate, and the admin's initial password.
type devServer struct {
	URL, CAFile, Password string
}

// startDevServer runs `flotilla server` beside the controller on a free
// loopback port, waits until it serves, and writes its certificate to a
// file of the fleet's folder, for curl's --cacert.
func startDevServer(ctx context.Context, out io.Writer, c client.Client, f *localfleet.Fleet, self string) (*devServer, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	srv := &devServer{URL: "https://" + addr, CAFile: filepath.Join(f.Dir, "flotilla-server-ca.pem")}
	err = f.StartExtra("flotilla-server", self, []string{"server",
		"--kubeconfig", f.Kubeconfig(), "--context", f.Clusters[0].Name,
		"--listen", addr, "--url", srv.URL,
		// The examples' repository is on loopback, as for the controller.
		"--allow-local-repos", "--cache-dir", filepath.Join(f.Dir, "server-cache"),
	})
	if err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	logFile := filepath.Join(f.Dir, "logs", "flotilla-server.log")
	ca, password, err := waitDevServer(ctx, c, srv.URL)
	if err != nil {
		return nil, fmt.Errorf("%w; see %s", err, logFile)
	}
	if err := os.WriteFile(srv.CAFile, ca, 0o644); err != nil {
		return nil, fmt.Errorf("write the server's certificate: %w", err)
	}
	srv.Password = password
	fmt.Fprintf(out, "Started the server: %s (its self-signed certificate in %s), log in %s.\n", srv.URL, srv.CAFile, logFile)
	return srv, nil
}

// printLogin says how to reach the dev server: the admin's initial password
// (shown, as Argo CD shows its own) and a login with
// curl through a cookie jar.
func printLogin(out io.Writer, srv *devServer, dir string) {
	jar := filepath.Join(dir, "flotilla-cookies.txt")
	fmt.Fprintf(out, "The web UI, and the API under /api/v1 (OpenAPI at /api/v1/openapi.json):\n  %s/\n", srv.URL)
	fmt.Fprintf(out, "  user admin, password %s (the Secret %s/%s, key password)\n", srv.Password, flotillav1.DefaultNamespace, auth.InitialAdminSecret)
	fmt.Fprintf(out, "  curl --cacert %s -c %s -H 'Content-Type: application/json' \\\n    -d '{\"username\":\"admin\",\"password\":\"%s\"}' %s/api/v1/session\n", srv.CAFile, jar, srv.Password, srv.URL)
	fmt.Fprintf(out, "  curl --cacert %s -b %s %s/api/v1/applications\n", srv.CAFile, jar, srv.URL)
}

// waitDevServer waits until the server answers /readyz and the admin's
// initial password exists, and returns the server's certificate (PEM) and
// the password.
func waitDevServer(ctx context.Context, c client.Client, url string) (ca []byte, password string, err error) {
	err = wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var admin, cert corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: auth.InitialAdminSecret}, &admin); err != nil {
			return false, nil
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: server.TLSSecretName}, &cert); err != nil {
			return false, nil
		}
		ca, password = cert.Data[corev1.TLSCertKey], string(admin.Data["password"])
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) || password == "" {
			return false, nil
		}
		probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		resp, err := probe.Get(url + "/readyz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("the server did not become ready: %w", err)
	}
	return ca, password, nil
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
	fleets, err := deployExampleFleets(ctx, out, c, examples, "file://"+repo)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "The examples' repository is %s: commit to its main branch to see a change roll out.\n", repo)
	return waitExamplesSynced(ctx, out, c, len(apps)+fleets)
}

// deployExampleFleets creates the Fleets of the examples' fleets/ folder,
// their source pointed at the examples' repository, and returns how many
// Applications they make (one per workload cluster each).
func deployExampleFleets(ctx context.Context, out io.Writer, c client.Client, examples, repoURL string) (int, error) {
	files, err := filepath.Glob(filepath.Join(examples, "fleets", "*.yaml"))
	if err != nil || len(files) == 0 {
		return 0, err
	}
	var clusters flotillav1.ClusterList
	if err := c.List(ctx, &clusters, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		return 0, err
	}
	apps := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return 0, err
		}
		var fleet flotillav1.Fleet
		if err := yaml.UnmarshalStrict(data, &fleet); err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
		fleet.Namespace = flotillav1.DefaultNamespace
		fleet.Spec.Template.Source.RepoURL = repoURL
		fleet.Spec.Template.SyncPolicy.Interval = &metav1.Duration{Duration: time.Minute}
		if err := c.Create(ctx, &fleet); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
		selector, n, err := fleetClusters(fleet.Spec.ClusterSelector, clusters.Items)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
		apps += n
		waves := 0
		if fleet.Spec.Rollout != nil {
			waves = len(fleet.Spec.Rollout.Waves)
		}
		fmt.Fprintf(out, "Fleet %s: %s → every Cluster with %s, in %d waves\n", fleet.Name, fleet.Spec.Template.Source.Path, selector, waves)
	}
	return apps, nil
}

// fleetClusters is the selector of a Fleet's spec.clusterSelector and how
// many of clusters it picks, as the Fleet controller reads it: no
// selector picks every Cluster (metav1.LabelSelectorAsSelector would read
// nil as picking none), an empty one too.
func fleetClusters(sel *metav1.LabelSelector, clusters []flotillav1.Cluster) (labels.Selector, int, error) {
	selector := labels.Everything()
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, 0, fmt.Errorf("spec.clusterSelector: %w", err)
		}
		selector = s
	}
	n := 0
	for _, cl := range clusters {
		if selector.Matches(labels.Set(cl.Labels)) {
			n++
		}
	}
	return selector, n, nil
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
		// Its files live elsewhere: a push to main only moves the branch.
		{"-C", dir, "config", "receive.denyCurrentBranch", "ignore"},
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
