package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// loginOptions are the flags of `login`.
type loginOptions struct {
	g             *globals
	sso           bool
	noBrowser     bool
	username      string
	password      string
	passwordStdin bool
	insecure      bool
	caFile        string
	name          string
}

func newLoginCommand(g *globals) *cobra.Command {
	o := &loginOptions{g: g}
	cmd := &cobra.Command{
		Use:   "login SERVER",
		Short: "Log in to a Flotilla server and make it the current context",
		Long: `Log in to the Flotilla server at SERVER (a URL, or host[:port] for https) and
keep the session token in the CLI's config file (mode 0600), as the context
NAME (default: the server's host and port), which becomes the current one.

With a local account, the password is asked for without echo unless
--password or --password-stdin gives it. With --sso, the browser opens the
server's single sign-on, which hands a one-time code back to the CLI on a
loopback address; --no-browser prints the address to open instead.`,
		Example: `  flotilla login flotilla.example.com --username admin
  flotilla login https://localhost:8443 --insecure-skip-tls-verify --username admin --password-stdin < password.txt
  flotilla login flotilla.example.com --sso`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.sso, "sso", false, "log in through the server's single sign-on in a browser")
	f.BoolVar(&o.noBrowser, "no-browser", false, "with --sso, print the address to open instead of opening a browser")
	f.StringVar(&o.username, "username", "", "the local account (asked for when not given)")
	f.StringVar(&o.password, "password", "", "the password (asked for without echo when not given; prefer --password-stdin, which keeps it out of the process list)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.BoolVar(&o.insecure, "insecure-skip-tls-verify", false, "accept any server certificate (for a server's self-signed certificate; the connection can be intercepted)")
	f.StringVar(&o.caFile, "certificate-authority", "", "a PEM file of the authority that signed the server's certificate")
	f.StringVar(&o.name, "name", "", "the context's name (default: the server's host[:port])")
	return cmd
}

func (o *loginOptions) run(cmd *cobra.Command, server string) error {
	if o.sso && (o.username != "" || o.password != "" || o.passwordStdin) {
		return errors.New("--sso does not take --username, --password or --password-stdin")
	}
	u, err := apiclient.ParseServer(server)
	if err != nil {
		return err
	}
	sc := ServerContext{Name: cmp.Or(o.name, u.Host), Server: u.String(), InsecureSkipTLSVerify: o.insecure}
	if o.caFile != "" {
		data, err := readBounded(o.caFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--certificate-authority: %w", err)
		}
		sc.CertificateAuthorityData = string(data)
	}
	c, err := newAPIClient(&sc, "")
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	settings, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	var tok *wire.Token
	if o.sso {
		tok, err = o.ssoLogin(cmd, c, settings)
	} else {
		tok, err = o.passwordLogin(cmd, c, settings)
	}
	if err != nil {
		return err
	}
	sc.Token = tok.Token
	sc.Username = o.username
	if who, err := o.whoAmI(ctx, &sc); err == nil {
		sc.Username = who
	}
	return o.save(cmd, sc)
}

func (o *loginOptions) whoAmI(ctx context.Context, sc *ServerContext) (string, error) {
	c, err := newAPIClient(sc, sc.Token)
	if err != nil {
		return "", err
	}
	s, err := c.Session(ctx)
	if err != nil {
		return "", err
	}
	return s.Username, nil
}

func (o *loginOptions) save(cmd *cobra.Command, sc ServerContext) error {
	cfg, path, err := o.g.load()
	if err != nil {
		return err
	}
	cfg.upsert(sc)
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s; the current context is %s.\n", sc.Server, cmp.Or(sc.Username, "?"), sc.Name)
	return nil
}

func (o *loginOptions) passwordLogin(cmd *cobra.Command, c *apiclient.Client, s *wire.Settings) (*wire.Token, error) {
	if !s.PasswordLogin {
		return nil, fmt.Errorf("%s does not take passwords: log in with --sso", c.Server())
	}
	in := cmd.InOrStdin()
	var err error
	if o.username == "" {
		if o.username, err = prompt(cmd, in, "Username: "); err != nil {
			return nil, err
		}
	}
	password := o.password
	switch {
	case o.passwordStdin:
		password, err = readLine(in)
	case password == "":
		password, err = promptSecret(cmd, in, "Password: ")
	}
	if err != nil {
		return nil, err
	}
	if o.username == "" || password == "" {
		return nil, errors.New("a username and a password are needed")
	}
	return c.Login(cmd.Context(), o.username, password)
}

// prompt asks for a line on a terminal.
func prompt(cmd *cobra.Command, in io.Reader, label string) (string, error) {
	if !isTerminal(in) {
		return "", fmt.Errorf("%sstandard input is not a terminal: pass it as a flag", strings.ToLower(label))
	}
	fmt.Fprint(cmd.ErrOrStderr(), label)
	return readLine(in)
}

// promptSecret asks for a line on a terminal without echo.
func promptSecret(cmd *cobra.Command, in io.Reader, label string) (string, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("password: standard input is not a terminal: pass --password-stdin")
	}
	fmt.Fprint(cmd.ErrOrStderr(), label)
	data, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return string(data), nil
}

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readLine reads one line, at most 4 KiB, without its line end.
func readLine(in io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(in, 4<<10), 4<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d KiB", path, limit>>10)
	}
	return data, nil
}
