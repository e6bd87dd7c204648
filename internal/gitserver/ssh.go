package gitserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHOptions configures an SSH git server.
type SSHOptions struct {
	// Root is the folder of bare repositories served; required.
	Root string
	// AuthorizedKeys are the client keys allowed to log in, as any user;
	// at least one is required.
	AuthorizedKeys []ssh.PublicKey
	// Refusal, when set, answers every command with this text on stderr
	// and exit status 128, as a hostile or broken server might: a client
	// must not repeat it as it is.
	Refusal string
}

// SSHCounts says what reached an SSH server.
type SSHCounts struct {
	Connections int64
	// AuthFailures counts rejected public keys.
	AuthFailures int64
	// UploadPacks and ReceivePacks count the git commands run.
	UploadPacks  int64
	ReceivePacks int64
}

// SSH is a running SSH git server.
type SSH struct {
	root    string
	refusal string
	config  *ssh.ServerConfig
	hostKey ssh.PublicKey
	ln      net.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	once    sync.Once
	counts  struct{ connections, authFailures, uploadPacks, receivePacks atomic.Int64 }
}

// NewSSH starts an SSH server on 127.0.0.1 for the repositories below
// opts.Root, with a new ed25519 host key. It stops when the test ends.
func NewSSH(t testing.TB, opts SSHOptions) *SSH {
	t.Helper()
	if opts.Root == "" || len(opts.AuthorizedKeys) == 0 {
		t.Fatal("gitserver: SSHOptions needs Root and at least one authorized key")
	}
	signer, err := newSigner()
	if err != nil {
		t.Fatalf("gitserver: host key: %v", err)
	}
	s := &SSH{root: opts.Root, refusal: opts.Refusal, hostKey: signer.PublicKey(), conns: map[net.Conn]struct{}{}}
	s.config = &ssh.ServerConfig{PublicKeyCallback: s.checkKey(opts.AuthorizedKeys)}
	s.config.AddHostKey(signer)
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.Close)
	return s
}

// Addr returns the host:port the server listens on.
func (s *SSH) Addr() string { return s.ln.Addr().String() }

// URL returns an ssh:// URL of the repository named repo, with user git.
func (s *SSH) URL(repo string) string {
	return "ssh://git@" + s.Addr() + "/" + repo
}

// HostKey returns the server's public host key.
func (s *SSH) HostKey() ssh.PublicKey { return s.hostKey }

// KnownHosts returns a known_hosts line that trusts this server's host key
// at its address.
func (s *SSH) KnownHosts() []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.hostKey) + "\n")
}

// Counts returns what reached the server so far.
func (s *SSH) Counts() SSHCounts {
	return SSHCounts{
		Connections:  s.counts.connections.Load(),
		AuthFailures: s.counts.authFailures.Load(),
		UploadPacks:  s.counts.uploadPacks.Load(),
		ReceivePacks: s.counts.receivePacks.Load(),
	}
}

// Close stops the server: it closes the listener and every connection, ends
// the git processes it started, and waits for its goroutines.
func (s *SSH) Close() {
	s.once.Do(func() {
		s.cancel()
		_ = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *SSH) checkKey(authorized []ssh.PublicKey) func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
	return func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		for _, k := range authorized {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return &ssh.Permissions{}, nil
			}
		}
		s.counts.authFailures.Add(1)
		return nil, errors.New("public key not authorized")
	}
}

func (s *SSH) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.counts.connections.Add(1)
		go s.serveConn(conn)
	}
}

func (s *SSH) serveConn(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		_ = conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	sconn, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return
	}
	defer func() { _ = sconn.Close() }()
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.serveSession(ch, chReqs)
		}()
	}
	sessions.Wait()
}

// NewKey returns a new ed25519 client key: the private key in OpenSSH PEM
// form, as the ssh client reads it, and its public key.
func NewKey(t testing.TB) (privatePEM []byte, public ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	public, err = ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	return pem.EncodeToMemory(block), public
}

func newSigner() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return ssh.NewSignerFromKey(priv)
}
