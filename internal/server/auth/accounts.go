package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Local accounts live in a ConfigMap/Secret pair, both named
// AccountsName, in the server's namespace:
//
//	ConfigMap flotilla-accounts:  data: {alice: "team-a, ops", bob: ""}
//	Secret    flotilla-accounts:  data: {admin: <bcrypt hash>, alice: <bcrypt hash>}
//
// The ConfigMap lists the accounts besides "admin" (which always exists),
// each with its groups, comma-separated. The Secret holds each account's
// bcrypt password hash; an account without one cannot log in until an
// operator writes a first hash into the Secret (docs/auth.md), after which
// the account changes it itself with `flotilla admin password`.

// Password lengths: bcrypt reads at most 72 bytes.
const (
	minPasswordBytes = 8
	maxPasswordBytes = 72
	maxUsernameBytes = 253
)

// account is one local account.
type account struct {
	groups []string
	hash   []byte
}

// fingerprint identifies the password hash without revealing it: a
// session carries it, and a changed password ends the sessions that carry
// the old one.
func (a account) fingerprint() string {
	sum := sha256.Sum256(append([]byte("flotilla-password\x00"), a.hash...))
	return hex.EncodeToString(sum[:8])
}

// readAccounts reads the local accounts from the hub.
func readAccounts(ctx context.Context, hub client.Client, namespace string) (map[string]account, error) {
	cm, err := hubMap{hub: hub, namespace: namespace, name: AccountsName}.read(ctx)
	if err != nil {
		return nil, err
	}
	hashes, err := readSecret(ctx, hub, namespace, AccountsName)
	if err != nil {
		return nil, err
	}
	out := map[string]account{}
	add := func(name, groups string) {
		out[name] = account{groups: splitGroups(groups), hash: hashes[name]}
	}
	add(AdminAccount, cm[AdminAccount])
	for name, groups := range cm {
		if checkAccountName(name) == nil {
			add(name, groups)
		}
	}
	return out, nil
}

func splitGroups(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

func checkAccountName(name string) error {
	if name == "" || len(name) > maxUsernameBytes {
		return fmt.Errorf("%w: the name must have 1 to %d characters", ErrInvalidAccount, maxUsernameBytes)
	}
	if msgs := validation.IsConfigMapKey(name); len(msgs) > 0 {
		return fmt.Errorf("%w %q: %s", ErrInvalidAccount, name, strings.Join(msgs, "; "))
	}
	return nil
}

// CheckPassword says why Flotilla would refuse password as a new password.
func CheckPassword(password string) error {
	switch {
	case len(password) < minPasswordBytes:
		return fmt.Errorf("%w: shorter than %d bytes", ErrInvalidPassword, minPasswordBytes)
	case len(password) > maxPasswordBytes:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidPassword, maxPasswordBytes)
	}
	return nil
}

// SetPassword sets the password of the local account name, ending every
// session it had. The account must be "admin" or listed in the ConfigMap
// flotilla-accounts. Setting the admin's password deletes the Secret
// flotilla-initial-admin.
func SetPassword(ctx context.Context, hub client.Client, namespace, name, password string) error {
	return setPassword(ctx, hub, namespace, name, password, bcrypt.DefaultCost)
}

func setPassword(ctx context.Context, hub client.Client, namespace, name, password string, cost int) error {
	if err := checkAccountName(name); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	if name != AdminAccount {
		cm, err := hubMap{hub: hub, namespace: namespace, name: AccountsName}.read(ctx)
		if err != nil {
			return err
		}
		if _, ok := cm[name]; !ok {
			return fmt.Errorf("%w: %q is not listed in the ConfigMap %s/%s", ErrInvalidAccount, name, namespace, AccountsName)
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("hash the password: %w", err)
	}
	_, err = updateSecret(ctx, hub, namespace, AccountsName, func(d map[string][]byte) error {
		d[name] = hash
		return nil
	})
	if err != nil {
		return err
	}
	if name == AdminAccount {
		return deleteSecret(ctx, hub, namespace, InitialAdminSecret)
	}
	return nil
}

// ensureAdmin gives the admin account a random password when it has none,
// and shows it in the Secret flotilla-initial-admin. Of several servers
// starting at once, the one whose hash is written writes the Secret.
func ensureAdmin(ctx context.Context, hub client.Client, namespace string, cost int) (bool, error) {
	password, err := randomString(18)
	if err != nil {
		return false, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return false, fmt.Errorf("hash the password: %w", err)
	}
	wrote := false
	_, err = updateSecret(ctx, hub, namespace, AccountsName, func(d map[string][]byte) error {
		wrote = len(d[AdminAccount]) == 0
		if wrote {
			d[AdminAccount] = hash
		}
		return nil
	})
	if err != nil || !wrote {
		return false, err
	}
	_, err = updateSecret(ctx, hub, namespace, InitialAdminSecret, func(d map[string][]byte) error {
		d["password"] = []byte(password)
		return nil
	})
	return true, err
}

// accountCache caches the local accounts for Authenticate.
type accountCache struct {
	hub       client.Client
	namespace string
	ttl       time.Duration
	now       func() time.Time

	mu       sync.Mutex
	accounts map[string]account
	read     time.Time
	forced   time.Time
}

// get returns the accounts; force reads them again (at most once a second)
// when a session's fingerprint does not match what is cached.
func (c *accountCache) get(ctx context.Context, force bool) (map[string]account, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	fresh := c.accounts != nil && now.Sub(c.read) < c.ttl
	if fresh && (!force || now.Sub(c.forced) < time.Second) {
		return c.accounts, nil
	}
	if force {
		c.forced = now
	}
	accounts, err := readAccounts(ctx, c.hub, c.namespace)
	if err != nil {
		return nil, err
	}
	c.accounts, c.read = accounts, now
	return accounts, nil
}

// invalidate makes the next get read the hub.
func (c *accountCache) invalidate() {
	c.mu.Lock()
	c.accounts = nil
	c.mu.Unlock()
}
