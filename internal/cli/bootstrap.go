package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/bootstrap"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/source"
)

func newBootstrapCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Install Flotilla so that it manages itself from a repository",
	}
	cmd.AddCommand(newBootstrapGitCommand())
	return cmd
}

// gitCredentialFlags name the files holding a repository's credentials;
// secrets are never taken on the command line, where other users see them.
type gitCredentialFlags struct {
	username, passwordFile, tokenFile, sshKeyFile, knownHostsFile, caFile string
	passwordStdin                                                         bool
}

func (g *gitCredentialFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.username, "username", "", "user name for https (with --password-file or --password-stdin)")
	f.StringVar(&g.passwordFile, "password-file", "", "file holding the https password or access token")
	f.BoolVar(&g.passwordStdin, "password-stdin", false, "read the https password or access token from standard input")
	f.StringVar(&g.tokenFile, "token-file", "", "file holding a bearer token for https")
	f.StringVar(&g.sshKeyFile, "ssh-key-file", "", "unencrypted private key for ssh:// and user@host:path URLs")
	f.StringVar(&g.knownHostsFile, "known-hosts-file", "", "known_hosts lines of the ssh server (required with --ssh-key-file)")
	f.StringVar(&g.caFile, "ca-file", "", "PEM certificates to trust for https instead of the system's")
}

// credentials reads the files the flags name; nil when none was given.
func (g *gitCredentialFlags) credentials(stdin io.Reader) (*source.Credentials, error) {
	var c source.Credentials
	read := func(file string) ([]byte, error) {
		if file == "" {
			return nil, nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return data, nil
	}
	var err error
	some := false
	if g.passwordStdin {
		data, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		c.Password, some = strings.TrimRight(string(data), "\r\n"), true
	} else if g.passwordFile != "" {
		data, err := read(g.passwordFile)
		if err != nil {
			return nil, err
		}
		c.Password, some = strings.TrimRight(string(data), "\r\n"), true
	}
	if g.tokenFile != "" {
		data, err := read(g.tokenFile)
		if err != nil {
			return nil, err
		}
		c.BearerToken, some = strings.TrimSpace(string(data)), true
	}
	if g.username != "" {
		if c.Password == "" {
			return nil, errors.New("--username needs --password-file or --password-stdin")
		}
		c.Username = g.username
	} else if c.Password != "" {
		// Hosting services take an access token as the password of any user.
		c.Username = "git"
	}
	if c.SSHPrivateKey, err = read(g.sshKeyFile); err != nil {
		return nil, err
	}
	if c.KnownHosts, err = read(g.knownHostsFile); err != nil {
		return nil, err
	}
	if (len(c.SSHPrivateKey) > 0) != (len(c.KnownHosts) > 0) {
		return nil, errors.New("--ssh-key-file and --known-hosts-file go together")
	}
	if c.CACert, err = read(g.caFile); err != nil {
		return nil, err
	}
	if !some && len(c.SSHPrivateKey) == 0 && len(c.CACert) == 0 {
		return nil, nil
	}
	return &c, nil
}

func newBootstrapGitCommand() *cobra.Command {
	kube := &kubeFlags{}
	creds := &gitCredentialFlags{}
	opts := bootstrap.Options{Install: install.DefaultOptions()}
	var (
		allowLocal bool
		waitSynced bool
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "git --url URL --path clusters/NAME",
		Short: "Commit Flotilla's manifests to a repository, install it, and let it sync itself from there",
		Long: "Commit Flotilla's install manifests and the Application that syncs them to PATH/flotilla-system\n" +
			"of the repository's branch (no commit when they are there already), install Flotilla into the\n" +
			"cluster, store the repository's credentials in a Secret there, and create that Application.\n" +
			"From then on Flotilla applies what Git says of itself: change the controller with patches in\n" +
			"PATH/flotilla-system/kustomization.yaml. Running it again changes nothing, or upgrades Flotilla\n" +
			"to this binary's version.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Credentials, err = creds.credentials(cmd.InOrStdin()); err != nil {
				return err
			}
			cfg, err := kube.config()
			if err != nil {
				return err
			}
			cacheDir, err := os.MkdirTemp("", "flotilla-bootstrap-")
			if err != nil {
				return err
			}
			src, err := source.New(source.Options{CacheDir: cacheDir, AllowLocal: allowLocal, AllowLoopback: allowLocal})
			if err != nil {
				return err
			}
			defer func() { _ = src.Close(); _ = os.RemoveAll(cacheDir) }()
			out := cmd.OutOrStdout()
			res, err := bootstrap.Run(cmd.Context(), cfg, src, opts)
			if res != nil {
				if res.Pushed {
					fmt.Fprintf(out, "committed Flotilla's manifests to %s (%s) as %s\n", opts.URL, opts.Branch, shortCommit(res.Commit))
				} else {
					fmt.Fprintf(out, "Flotilla's manifests are in %s (%s) at %s already\n", opts.URL, opts.Branch, shortCommit(res.Commit))
				}
				for _, n := range res.Installed {
					fmt.Fprintf(out, "%s applied\n", n)
				}
			}
			if err != nil || !waitSynced {
				return err
			}
			fmt.Fprintf(out, "waiting for the Application %s to sync %s\n", bootstrap.AppName, shortCommit(res.Commit))
			if err := waitBootstrapped(cmd.Context(), kube, opts.Install.Namespace, res.Commit, timeout); err != nil {
				return err
			}
			fmt.Fprintf(out, "Flotilla manages itself from %s\n", opts.URL)
			return nil
		},
	}
	kube.add(cmd)
	creds.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.URL, "url", "", "the repository (https://, ssh:// or user@host:path)")
	f.StringVar(&opts.Branch, "branch", "main", "the branch to commit to and sync from")
	f.StringVar(&opts.Path, "path", "", "this cluster's folder in the repository, such as clusters/production")
	f.StringVar(&opts.AuthorName, "author-name", "", "the commit's author (default: Flotilla bootstrap)")
	f.StringVar(&opts.AuthorEmail, "author-email", "", "the commit author's e-mail (default: bootstrap@flotilla.dev)")
	f.StringVar(&opts.Install.Namespace, "namespace", opts.Install.Namespace, "namespace for Flotilla's objects")
	f.StringVar(&opts.Install.Image, "image", "", "the controller's image (default: "+install.DefaultImage+" at this binary's version)")
	f.IntVar(&opts.Install.Replicas, "replicas", opts.Install.Replicas, "controller replicas")
	f.BoolVar(&opts.Install.InCluster, "in-cluster", opts.Install.InCluster, "let the controller deploy to this cluster beyond its own namespace")
	f.BoolVar(&allowLocal, "allow-local-repos", false, "allow file:// URLs and repositories on loopback addresses (development only)")
	f.BoolVar(&waitSynced, "wait", true, "wait until the controller has synced itself from the new commit")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

// waitBootstrapped waits until the bootstrap Application has synced commit.
func waitBootstrapped(ctx context.Context, kube *kubeFlags, namespace, commit string, timeout time.Duration) error {
	cfg, err := kube.config()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := flotillav1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var app flotillav1.Application
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.AppName}, &app); err != nil {
			last = err.Error()
			return false, nil
		}
		st := app.Status
		last = fmt.Sprintf("sync %s at %s", st.Sync.Status, shortCommit(st.Sync.Revision))
		return st.Sync.Status == flotillav1.SyncStatusSynced && st.Sync.Revision == commit, nil
	})
	if err != nil {
		return fmt.Errorf("the Application %s did not sync %s within %s (last seen: %s); is the controller running?", bootstrap.AppName, shortCommit(commit), timeout, last)
	}
	return nil
}

func shortCommit(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
