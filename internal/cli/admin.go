package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newAdminCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage your account on the server",
	}
	cmd.AddCommand(newAdminPasswordCommand(g))
	return cmd
}

// adminPasswordOptions are the flags of `admin password`.
type adminPasswordOptions struct {
	current, next string
	stdin         bool
}

func newAdminPasswordCommand(g *globals) *cobra.Command {
	o := &adminPasswordOptions{}
	cmd := &cobra.Command{
		Use:   "password",
		Short: "Change the password of the local account you are logged in with",
		Long: `Change the password of the local account of the current context (admin, or
another local account). The server ends every other session of the account;
this context keeps working with the new session token the server answers.

Without flags, both passwords are asked for without echo (the new one
twice). --password-stdin reads two lines instead: the current password, then
the new one.`,
		Example: "  flotilla admin password\n  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | flotilla admin password --password-stdin",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd, g) },
	}
	f := cmd.Flags()
	f.StringVar(&o.current, "current-password", "", "the current password (asked for when not given)")
	f.StringVar(&o.next, "new-password", "", "the new password (asked for when not given)")
	f.BoolVar(&o.stdin, "password-stdin", false, "read the current and the new password from two lines of standard input")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "current-password")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "new-password")
	return cmd
}

func (o *adminPasswordOptions) run(cmd *cobra.Command, g *globals) error {
	cfg, path, err := g.load()
	if err != nil {
		return err
	}
	sc, err := cfg.context(g.contextName())
	if err != nil {
		return err
	}
	if sc.Token == "" {
		return fmt.Errorf("context %s: logged out of %s: run `flotilla login %s`", sc.Name, sc.Server, sc.Server)
	}
	current, next, err := o.passwords(cmd)
	if err != nil {
		return err
	}
	c, err := newAPIClient(sc, sc.Token)
	if err != nil {
		return err
	}
	tok, err := c.ChangePassword(cmd.Context(), current, next)
	if err != nil {
		return err
	}
	sc.Token = tok.Token
	if err := saveConfig(path, cfg); err != nil {
		return fmt.Errorf("the password is changed, but the new session could not be kept (log in again): %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Password of %s on %s changed; its other sessions are ended.\n", sc.Username, sc.Server)
	return nil
}

// passwords are the current and the new password, from the flags, from
// standard input, or asked for on the terminal.
func (o *adminPasswordOptions) passwords(cmd *cobra.Command) (string, string, error) {
	in := cmd.InOrStdin()
	current, next := o.current, o.next
	var err error
	if o.stdin {
		lines := bufio.NewScanner(io.LimitReader(in, 8<<10))
		if lines.Scan() {
			current = strings.TrimRight(lines.Text(), "\r")
		}
		if lines.Scan() {
			next = strings.TrimRight(lines.Text(), "\r")
		}
		if current == "" || next == "" {
			return "", "", errors.New("--password-stdin: want two lines, the current password and the new one")
		}
	}
	if current == "" {
		if current, err = promptSecret(cmd, in, "Current password: "); err != nil {
			return "", "", err
		}
	}
	if next == "" {
		if next, err = askNewPassword(cmd, in); err != nil {
			return "", "", err
		}
	}
	if current == "" || next == "" {
		return "", "", errors.New("the current and the new password are needed")
	}
	return current, next, nil
}

func askNewPassword(cmd *cobra.Command, in io.Reader) (string, error) {
	next, err := promptSecret(cmd, in, "New password: ")
	if err != nil {
		return "", err
	}
	again, err := promptSecret(cmd, in, "New password again: ")
	if err != nil {
		return "", err
	}
	if again != next {
		return "", errors.New("the two new passwords differ")
	}
	return next, nil
}
