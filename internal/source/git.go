package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// invocation is one git command.
type invocation struct {
	args    []string // after the global configuration flags
	remote  remote
	auth    *auth
	timeout time.Duration
	// maxStdout bounds the output kept; 0 discards stdout.
	maxStdout int64
	// stdout, when set, receives the output instead, as git writes it; its
	// error ends the command.
	stdout io.Writer
	// stdin, when set, is git's standard input.
	stdin io.Reader
}

// errOutputTooLarge stops a command whose output passed its bound.
var errOutputTooLarge = errors.New("output too large")

// run runs git and returns its standard output. A failure is an *Error
// (without Op, URL and Revision, which the caller adds) whose Detail is
// git's scrubbed error output.
func (c *Client) run(ctx context.Context, inv invocation) ([]byte, error) {
	callCtx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	pin, err := c.pin(callCtx, inv.remote)
	if err != nil {
		return nil, err
	}
	args := append(append(c.configFlags(inv.remote.scheme), pin.config...), inv.args...)
	cmd := exec.CommandContext(callCtx, c.opts.Git, args...)
	cmd.Env = c.env(inv.auth, pin)
	cmd.Dir = c.tmp
	// git starts helpers (git-remote-https, ssh); its own process group lets
	// a time limit end all of them, and WaitDelay bounds the wait for pipes
	// a stray helper still holds.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stdout := &limitedBuffer{max: inv.maxStdout}
	stderr := &tailBuffer{max: c.opts.MaxStderrBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if inv.stdout != nil {
		cmd.Stdout = inv.stdout
	}
	cmd.Stdin = inv.stdin
	err = cmd.Run()
	if err == nil {
		return stdout.buf.Bytes(), nil
	}
	var secrets []string
	if inv.auth != nil {
		secrets = inv.auth.secrets
	}
	// Paths of the cache folder (credential files among them) say nothing
	// to the reader of an error. What git printed may hold a server's
	// words: it is shown as a quoted excerpt, after Flotilla's own (the
	// Kind, and the hint below).
	detail := ""
	if excerpt := scrub(strings.ReplaceAll(stderr.String(), c.opts.CacheDir, "<cache>"), secrets); excerpt != "" {
		detail = "git said " + quoteExcerpt(excerpt)
	}
	switch {
	case errors.Is(context.Cause(ctx), errCheckoutTooLarge):
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("received more than %d bytes", c.opts.MaxCheckoutBytes)}
	case ctx.Err() != nil:
		return nil, &Error{Kind: ctx.Err(), Detail: "cancelled", cause: context.Cause(ctx)}
	case callCtx.Err() != nil:
		return nil, &Error{Kind: ErrTimeout, Detail: fmt.Sprintf("git ran longer than %s", inv.timeout)}
	case stdout.over:
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("git printed more than %d bytes", inv.maxStdout)}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return nil, &Error{Kind: ErrGit, Detail: scrub(err.Error(), secrets), cause: err}
	}
	if strings.Contains(stderr.String(), "returned error: 30") {
		detail = "redirects are not followed: use the repository's final URL; " + detail
	}
	return nil, &Error{Kind: classify(stderr.String()), Detail: detail}
}

// configFlags are the -c flags of every git command. They allow only the
// transport of the URL at hand, turn off everything that could run code
// or send credentials elsewhere, and keep git quiet.
func (c *Client) configFlags(scheme string) []string {
	flags := []string{
		"protocol.allow=never",
		"protocol.version=2",
		"http.followRedirects=false", // credentials never cross hosts
		"http.lowSpeedLimit=1024",    // a stalled server fails before the time limit
		"http.lowSpeedTime=60",
		"credential.helper=",
		"core.askPass=",
		"core.hooksPath=" + os.DevNull,
		"core.fsmonitor=false",
		"core.symlinks=true",
		"submodule.recurse=false",
		"fetch.recurseSubmodules=false",
		"transfer.fsckObjects=true",
		"gc.auto=0",
		"maintenance.auto=false",
		"advice.detachedHead=false",
		"init.defaultBranch=main",
	}
	if scheme != "" {
		flags = append(flags, "protocol."+scheme+".allow=always")
	}
	args := make([]string, 0, 2*len(flags))
	for _, f := range flags {
		args = append(args, "-c", f)
	}
	return args
}

// env is the whole environment of a git command: nothing is inherited but
// PATH, proxies and the system's CA locations, so no GIT_* variable or user
// configuration of this process changes what git does.
func (c *Client) env(a *auth, pin gitPin) []string {
	env := []string{
		"HOME=" + c.home,
		"XDG_CONFIG_HOME=" + c.home,
		"TMPDIR=" + c.tmp,
		// Commands without --git-dir run in the scratch folder; git must not
		// find a repository around it whose configuration it would read.
		"GIT_CEILING_DIRECTORIES=" + c.opts.CacheDir,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_PROTOCOL_FROM_USER=0",
		"GIT_NO_REPLACE_OBJECTS=1",
		"GIT_LFS_SKIP_SMUDGE=1",
		"SSH_ASKPASS_REQUIRE=never",
		"LC_ALL=C",
		"LANG=C",
	}
	for _, k := range []string{"PATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if a != nil {
		env = append(env, a.env...)
		if a.sshCommand != "" {
			env = append(env, "GIT_SSH_COMMAND="+a.sshCommand+pin.ssh)
		}
	}
	return env
}

// limitedBuffer keeps up to max bytes and fails the write past them, which
// ends the command. With max 0 it discards everything.
type limitedBuffer struct {
	max  int64
	buf  bytes.Buffer
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.max == 0 {
		return len(p), nil
	}
	if int64(b.buf.Len()+len(p)) > b.max {
		b.over = true
		return 0, errOutputTooLarge
	}
	return b.buf.Write(p)
}

// tailBuffer keeps the last max bytes written: git's final lines say why it
// failed.
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = b.buf[over:]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string { return strings.ToValidUTF8(string(b.buf), "") }
