package gitserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// serveSession answers the requests of one session channel: env requests
// for GIT_PROTOCOL, then one exec request of git-upload-pack or
// git-receive-pack, whose process it runs over the channel.
func (s *SSH) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }()
	var protocol string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL"
			if ok {
				protocol = kv.Value
			}
			_ = req.Reply(ok, nil)
		case "exec":
			var cmd struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &cmd); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			status := s.runGitCommand(ch, cmd.Command, protocol)
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// runGitCommand runs an exec request such as `git-upload-pack 'org/x.git'`
// and returns its exit status.
func (s *SSH) runGitCommand(ch ssh.Channel, command, protocol string) uint32 {
	if s.refusal != "" {
		_, _ = io.WriteString(ch.Stderr(), s.refusal)
		return 128
	}
	service, dir, err := s.parseCommand(command)
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %v\n", err)
		return 128
	}
	switch service {
	case "upload-pack":
		s.counts.uploadPacks.Add(1)
	case "receive-pack":
		s.counts.receivePacks.Add(1)
	}
	cmd := exec.CommandContext(s.ctx, "git", service, "--", dir)
	cmd.Env = gitEnv("")
	if protocol != "" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+protocol)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 128
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %v\n", err)
		return 128
	}
	// Copied apart from cmd.Wait: the client may keep its side open until it
	// sees the exit status, which is sent only after Wait returns.
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return uint32(exit.ExitCode())
		}
		return 128
	}
	return 0
}

// parseCommand splits `git-upload-pack '/org/x.git'` (the form git sends,
// with the path single-quoted) into the git service and the repository
// folder, which must lie inside the root.
func (s *SSH) parseCommand(command string) (service, dir string, err error) {
	name, arg, ok := strings.Cut(command, " ")
	if !ok {
		return "", "", fmt.Errorf("unsupported command %q", command)
	}
	switch name {
	case "git-upload-pack", "git upload-pack":
		service = "upload-pack"
	case "git-receive-pack", "git receive-pack":
		service = "receive-pack"
	default:
		return "", "", fmt.Errorf("unsupported command %q", name)
	}
	path, err := unquote(arg)
	if err != nil {
		return "", "", err
	}
	path = strings.TrimPrefix(strings.TrimPrefix(path, "~"), "/")
	clean := filepath.Clean(filepath.FromSlash(path))
	if path == "" || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || filepath.IsAbs(clean) {
		return "", "", fmt.Errorf("repository %q is outside the root", path)
	}
	dir = filepath.Join(s.root, clean)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", "", errors.New("repository not found") // as GitHub says it
	}
	return service, dir, nil
}

// unquote undoes git's shell quoting of one argument: 'a'\”b' is a'b.
func unquote(s string) (string, error) {
	var b strings.Builder
	for s != "" {
		switch {
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated quote in command")
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		default:
			return "", errors.New("command argument must be single-quoted")
		}
	}
	return b.String(), nil
}
