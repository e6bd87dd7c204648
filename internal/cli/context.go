package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
)

func newLogoutCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [CONTEXT]",
		Short: "Log out of a server: the session token is revoked and forgotten",
		Long: `Log out of the server of CONTEXT (default: the current context): the server
revokes the session token, and the CLI removes it from its config file. The
context stays, so that ` + "`flotilla login`" + ` of the same server keeps its name.`,
		Example: "  flotilla logout\n  flotilla logout staging",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.contextNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := g.load()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			sc, err := cfg.context(name)
			if err != nil {
				return err
			}
			if sc.Token == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s.\n", sc.Server)
				return nil
			}
			c, err := newAPIClient(sc, sc.Token)
			if err != nil {
				return err
			}
			revokeErr := c.Logout(cmd.Context())
			if errors.Is(revokeErr, apiclient.ErrUnauthenticated) {
				revokeErr = nil // expired or revoked already
			}
			sc.Token = ""
			if err := saveConfig(path, cfg); err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("the token is forgotten, but the server did not revoke it (it stays valid until it expires): %w", revokeErr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s.\n", sc.Server)
			return nil
		},
	}
}

func newContextCommand(g *globals) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "context [NAME]",
		Short: "List the servers logged in to, or switch to another one",
		Long: `Without NAME, list the contexts of the config file: one per server logged in
to, the current one marked with *. With NAME, make it the current context.
With --delete NAME, forget that context (its token is not revoked: run
` + "`flotilla logout NAME`" + ` first for that).`,
		Example: "  flotilla context\n  flotilla context staging\n  flotilla context --delete old",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.contextNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := g.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case len(args) == 0 && remove:
				return errors.New("--delete needs the NAME of a context")
			case len(args) == 0:
				return printContexts(out, cfg)
			case remove:
				if !cfg.remove(args[0]) {
					return fmt.Errorf("no context %q in the config", args[0])
				}
				fmt.Fprintf(out, "Context %s is deleted.\n", args[0])
			default:
				sc, err := cfg.context(args[0])
				if err != nil {
					return err
				}
				cfg.CurrentContext = sc.Name
				fmt.Fprintf(out, "Switched to context %s (%s).\n", sc.Name, sc.Server)
			}
			return saveConfig(path, cfg)
		},
	}
	cmd.Flags().BoolVar(&remove, "delete", false, "forget the context NAME")
	return cmd
}

func printContexts(w io.Writer, cfg *Config) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "CURRENT\tNAME\tSERVER\tUSER\tSESSION")
	for _, sc := range cfg.Contexts {
		cur, session := "", "logged out"
		if sc.Name == cfg.CurrentContext {
			cur = "*"
		}
		if sc.Token != "" {
			session = "logged in"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, sc.Name, sc.Server, orDash(sc.Username), session)
	}
	return tw.Flush()
}
