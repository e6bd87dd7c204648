package cli

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/version"
)

// ContextEnv names the server context to use instead of the current one.
const ContextEnv = "FLOTILLA_CONTEXT"

// globals are the flags every command that talks to a server shares.
type globals struct {
	configFile    string
	serverContext string
}

func (g *globals) addFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.configFile, "config", "", "the CLI's config file (default: $"+ConfigEnv+", or flotilla/config.yaml in the user's config folder)")
	f.StringVar(&g.serverContext, "server-context", "", "the server context to use (default: $"+ContextEnv+", or the current context)")
	_ = root.RegisterFlagCompletionFunc("server-context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return g.contextNames(), cobra.ShellCompDirectiveNoFileComp
	})
}

func (g *globals) path() (string, error) {
	if g.configFile != "" {
		return g.configFile, nil
	}
	return configPath()
}

func (g *globals) load() (*Config, string, error) {
	path, err := g.path()
	if err != nil {
		return nil, "", err
	}
	c, err := loadConfig(path)
	return c, path, err
}

// current answers the server context in use; errNotLoggedIn when none.
func (g *globals) current() (*ServerContext, error) {
	c, _, err := g.load()
	if err != nil {
		return nil, err
	}
	return c.context(g.contextName())
}

// contextName is the context the flags or the environment ask for; empty
// for the current one.
func (g *globals) contextName() string {
	return cmp.Or(g.serverContext, os.Getenv(ContextEnv))
}

// loggedIn says whether a server context is in use, so that commands with
// a direct mode (cluster) know which to take.
func (g *globals) loggedIn() bool {
	sc, err := g.current()
	return err == nil && sc.Token != ""
}

// client is a client of the server of the context in use.
func (g *globals) client() (*apiclient.Client, error) {
	sc, err := g.current()
	if err != nil {
		return nil, err
	}
	if sc.Token == "" {
		return nil, fmt.Errorf("context %s: logged out of %s: run `flotilla login %s`", sc.Name, sc.Server, sc.Server)
	}
	return newAPIClient(sc, sc.Token)
}

func newAPIClient(sc *ServerContext, token string) (*apiclient.Client, error) {
	return apiclient.New(apiclient.Options{
		Server: sc.Server, Token: token, InsecureSkipTLSVerify: sc.InsecureSkipTLSVerify,
		CAData: []byte(sc.CertificateAuthorityData), UserAgent: "flotilla-cli/" + version.Get().Version,
	})
}

func (g *globals) contextNames() []string {
	c, _, err := g.load()
	if err != nil {
		return nil
	}
	names := make([]string, len(c.Contexts))
	for i, sc := range c.Contexts {
		names[i] = sc.Name
	}
	return names
}

// objectName reads NAME or NAMESPACE/NAME; namespace is the -n flag.
func objectName(arg, namespace string) (string, string, error) {
	ns, name, ok := strings.Cut(arg, "/")
	if !ok {
		ns, name = cmp.Or(namespace, flotillav1.DefaultNamespace), arg
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%q: want NAME or NAMESPACE/NAME", arg)
	}
	return ns, name, nil
}

// namespaceFlag adds -n; for lists it filters, for one object it says where
// the object is (default flotilla-system).
func namespaceFlag(cmd *cobra.Command, ns *string, usage string) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "", usage)
}
