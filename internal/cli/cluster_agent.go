package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/agent"
)

// runAgent registers CONTEXT's cluster in agent mode: the hub's side only,
// then the agent's credential to a file and its manifests to stdout.
func (o *clusterAddOptions) runAgent(cmd *cobra.Command, targetContext string) error {
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	kube := &kubeFlags{kubeconfig: o.kubeconfig, context: o.hubContext}
	hubCfg, err := kube.config()
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	hub, err := newHubClient(hubCfg)
	if err != nil {
		return err
	}
	opts := agent.DefaultRegisterOptions()
	opts.Name, opts.Namespace, opts.Labels = o.name, o.namespace, labels
	opts.HubServer, opts.TokenTimeout = o.hubServer, o.tokenTimeout
	if opts.Name == "" {
		opts.Name = targetContext
	}
	errOut := cmd.ErrOrStderr()
	opts.Progress = func(step string) { fmt.Fprintln(errOut, "  "+step) }
	fmt.Fprintf(errOut, "Registering Cluster %s in agent mode ...\n", opts.Name)
	_, kubeconfig, err := agent.Register(cmd.Context(), hubCfg, hub, opts)
	if err != nil {
		return err
	}
	if o.agentOut != "" {
		if err := os.WriteFile(o.agentOut, kubeconfig, 0o600); err != nil {
			return fmt.Errorf("write the agent's hub credential: %w", err)
		}
		fmt.Fprintf(errOut, "The agent's hub credential is in %s.\n", o.agentOut)
	} else {
		fmt.Fprintln(errOut, "No --agent-kubeconfig-out: the credential was made but not saved; run again with it to save it.")
	}
	m := agent.DefaultManifestOptions()
	m.Cluster, m.HubNamespace = opts.Name, opts.Namespace
	manifests, err := agent.Manifests(m)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(manifests)
	return err
}
