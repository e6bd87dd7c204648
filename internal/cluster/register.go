package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/version"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// What Register creates in a target cluster. The ServiceAccount, the
// ClusterRole and the ClusterRoleBinding share one name.
const (
	// ManagerNamespace holds the ServiceAccount and its token Secret.
	ManagerNamespace = "flotilla-system"
	// ManagerName names the ServiceAccount, ClusterRole and ClusterRoleBinding.
	ManagerName = "flotilla-manager"
	// ManagerTokenSecret is the Secret the token controller fills with the
	// ServiceAccount's token and the cluster's CA.
	ManagerTokenSecret = "flotilla-manager-token"
)

// Keys of a credentials Secret that Register writes in the hub.
const (
	KeyBearerToken = "bearerToken"
	KeyCAData      = "caData"
)

// registerFieldManager owns what registration applies, apart from what
// Applications apply (flotillav1.FieldManager).
const registerFieldManager = "flotilla-register"

// managedByLabel marks what registration made, in the target and the hub.
const managedByLabel = "app.kubernetes.io/managed-by"

// ErrNotRegistered says the hub has no such Cluster.
var ErrNotRegistered = errors.New("not registered")

// SecretName is the name of the credentials Secret Register writes for the
// Cluster name.
func SecretName(name string) string { return "cluster-" + name }

// RegisterOptions say how to record a target cluster in the hub.
type RegisterOptions struct {
	// Name of the Cluster in the hub: a DNS label, not "in-cluster".
	Name string
	// Namespace of the Cluster and its Secret in the hub.
	Namespace string
	// Labels are set on the Cluster (others it has are kept); Fleets select
	// clusters by them.
	Labels map[string]string
	// Server is the URL the hub uses to reach the target. Empty means the
	// target configuration's host: right when the hub reaches the target as
	// the caller does.
	Server string
	// TokenTimeout bounds the wait for the token controller to fill the
	// ServiceAccount's token.
	TokenTimeout time.Duration
	// Progress, when set, is told each step done, as a line for people.
	Progress func(step string)
}

// DefaultRegisterOptions records the cluster in flotilla-system and waits
// up to a minute for its token.
func DefaultRegisterOptions() RegisterOptions {
	return RegisterOptions{Namespace: flotillav1.DefaultNamespace, TokenTimeout: time.Minute}
}

func (o RegisterOptions) withDefaults() RegisterOptions {
	d := DefaultRegisterOptions()
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if o.TokenTimeout <= 0 {
		o.TokenTimeout = d.TokenTimeout
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o
}

// StepError is a registration failure: the cluster, the step that failed,
// and why. It never carries a token.
type StepError struct {
	Cluster string
	Step    string
	Err     error
}

func (e *StepError) Error() string {
	return "cluster " + e.Cluster + ": " + e.Step + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }

// Register makes the cluster reached through target a member of the fleet,
// in push mode:
//
//  1. in the target (idempotently, by server-side apply): the namespace
//     flotilla-system, the ServiceAccount flotilla-manager, the ClusterRole
//     flotilla-manager that allows everything, its ClusterRoleBinding, and a
//     token Secret for the ServiceAccount; then it waits (TokenTimeout) for
//     the token controller to fill the token and ca.crt, and checks that the
//     token is accepted;
//  2. in the hub: the Secret cluster-<name> with only bearerToken and caData
//     (replacing whatever it held: no kubeconfig, no admin credential of the
//     caller is ever copied), and the Cluster <name> with spec.server,
//     credentialsRef, mode push and the labels.
//
// The ClusterRole is cluster-admin's equal on purpose: Flotilla deploys
// whatever its Applications hold, CRDs and RBAC included; Projects narrow
// what each tenant may deploy. Registering needs the same rights in the
// target (RBAC lets no one grant more than they hold).
//
// caData is the CA the target configuration trusts for the server; when it
// trusts none (system roots, or no verification), the cluster's own CA from
// the token Secret.
func Register(ctx context.Context, target *rest.Config, hub client.Client, opts RegisterOptions) (*flotillav1.Cluster, error) {
	opts = opts.withDefaults()
	fail := func(step string, err error) (*flotillav1.Cluster, error) {
		return nil, &StepError{Cluster: opts.Name, Step: step, Err: err}
	}
	if err := validateName(opts.Name); err != nil {
		return fail("check the name", err)
	}
	if err := checkHub(ctx, hub, opts); err != nil {
		return fail("check the hub", err)
	}
	creds, err := Provision(ctx, target, opts)
	if err != nil {
		return nil, err
	}
	if err := writeSecret(ctx, hub, opts, creds.BearerToken, creds.CAData); err != nil {
		return fail("write the credentials Secret in the hub", err)
	}
	c, err := writeCluster(ctx, hub, opts, creds.Server)
	if err != nil {
		return fail("write the Cluster in the hub", err)
	}
	return c, nil
}

// Credentials are what the hub needs to reach a provisioned cluster. They
// hold a token: never print or log them.
type Credentials struct {
	Server      string
	BearerToken string
	CAData      []byte
}

// Provision is the first step of Register, in the target alone: it sets up
// the ServiceAccount flotilla-manager, waits for its token, checks that the
// token is accepted, and answers the credentials the hub will use. The CLI
// uses it to register a cluster through Flotilla's server, which writes the
// hub's side.
func Provision(ctx context.Context, target *rest.Config, opts RegisterOptions) (*Credentials, error) {
	opts = opts.withDefaults()
	fail := func(step string, err error) (*Credentials, error) {
		return nil, &StepError{Cluster: opts.Name, Step: step, Err: err}
	}
	cs, err := kubernetes.NewForConfig(target)
	if err != nil {
		return fail("connect to the target", err)
	}
	if err := applyManager(ctx, cs, opts.Progress); err != nil {
		return fail("set up the ServiceAccount in the target", err)
	}
	token, clusterCA, err := waitToken(ctx, cs, opts.TokenTimeout)
	if err != nil {
		return fail("wait for the ServiceAccount token", err)
	}
	opts.Progress(fmt.Sprintf("target: the token of ServiceAccount %s/%s is ready", ManagerNamespace, ManagerName))
	caData, err := caFor(target, clusterCA)
	if err != nil {
		return fail("read the target's CA", err)
	}
	v, err := checkToken(ctx, target.Host, token, caData)
	if err != nil {
		return fail("check the token against "+target.Host, err)
	}
	opts.Progress(fmt.Sprintf("target: the token reaches Kubernetes %s at %s", v.GitVersion, target.Host))
	server := opts.Server
	if server == "" {
		server = target.Host
	}
	return &Credentials{Server: server, BearerToken: token, CAData: caData}, nil
}

func validateName(name string) error {
	if name == "" {
		return errors.New("a name is required")
	}
	if name == flotillav1.InCluster {
		return fmt.Errorf("%q is reserved for the hub itself", name)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// checkHub fails early, before the target is touched, when the hub does not
// serve Clusters (Flotilla is not installed there).
func checkHub(ctx context.Context, hub client.Client, opts RegisterOptions) error {
	err := hub.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.Name}, &flotillav1.Cluster{})
	switch {
	case err == nil || apierrors.IsNotFound(err):
		return nil
	case meta.IsNoMatchError(err):
		return errors.New("the hub does not serve Clusters: install Flotilla there first (flotilla install)")
	default:
		return err
	}
}

// applyManager applies the ServiceAccount, its RBAC and its token Secret.
func applyManager(ctx context.Context, cs kubernetes.Interface, progress func(string)) error {
	labels := map[string]string{managedByLabel: "flotilla"}
	apply := metav1.ApplyOptions{FieldManager: registerFieldManager, Force: true}
	steps := []struct {
		what string
		do   func() error
	}{
		{"Namespace " + ManagerNamespace, func() error {
			_, err := cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(ManagerNamespace), apply)
			return err
		}},
		{"ServiceAccount " + ManagerNamespace + "/" + ManagerName, func() error {
			_, err := cs.CoreV1().ServiceAccounts(ManagerNamespace).Apply(ctx,
				corev1ac.ServiceAccount(ManagerName, ManagerNamespace).WithLabels(labels), apply)
			return err
		}},
		{"ClusterRole " + ManagerName, func() error {
			_, err := cs.RbacV1().ClusterRoles().Apply(ctx, rbacv1ac.ClusterRole(ManagerName).WithLabels(labels).WithRules(
				rbacv1ac.PolicyRule().WithAPIGroups("*").WithResources("*").WithVerbs("*"),
				rbacv1ac.PolicyRule().WithNonResourceURLs("*").WithVerbs("*"),
			), apply)
			return err
		}},
		{"ClusterRoleBinding " + ManagerName, func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Apply(ctx, rbacv1ac.ClusterRoleBinding(ManagerName).WithLabels(labels).
				WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(ManagerName)).
				WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithNamespace(ManagerNamespace).WithName(ManagerName)),
				apply)
			return err
		}},
		{"Secret " + ManagerNamespace + "/" + ManagerTokenSecret, func() error {
			_, err := cs.CoreV1().Secrets(ManagerNamespace).Apply(ctx, corev1ac.Secret(ManagerTokenSecret, ManagerNamespace).
				WithLabels(labels).
				WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: ManagerName}).
				WithType(corev1.SecretTypeServiceAccountToken), apply)
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		progress("target: applied " + s.what)
	}
	return nil
}

// waitToken waits until the token controller has filled the token Secret.
func waitToken(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) (token string, ca []byte, err error) {
	var last error
	poll := func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Secrets(ManagerNamespace).Get(ctx, ManagerTokenSecret, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		token, ca = string(s.Data[corev1.ServiceAccountTokenKey]), s.Data[corev1.ServiceAccountRootCAKey]
		return token != "" && len(ca) > 0, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, poll); err != nil {
		msg := fmt.Sprintf("Secret %s/%s has no token and ca.crt after %s (does the cluster run kube-controller-manager's token controller?)",
			ManagerNamespace, ManagerTokenSecret, timeout)
		if last != nil {
			msg += "; last error: " + last.Error()
		}
		return "", nil, errors.New(msg)
	}
	return token, ca, nil
}

// caFor is the CA the target configuration trusts, or the cluster's own.
func caFor(target *rest.Config, clusterCA []byte) ([]byte, error) {
	if target.Insecure {
		return clusterCA, nil
	}
	cfg := rest.CopyConfig(target)
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, err
	}
	if len(cfg.CAData) > 0 {
		return cfg.CAData, nil
	}
	return clusterCA, nil
}

// checkToken asks the server's version with the token alone: a token the
// server refuses, or a CA that does not verify it, fails here rather than
// in the hub later.
func checkToken(ctx context.Context, host, token string, ca []byte) (*version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cfg := &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	return ServerVersion(ctx, cfg)
}

// ServerVersion asks the API server at cfg for its version, bounded by ctx.
func ServerVersion(ctx context.Context, cfg *rest.Config) (*version.Info, error) {
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	body, err := disco.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("read /version: %w", err)
	}
	return &v, nil
}

// writeSecret creates or replaces the hub's credentials Secret. Its data is
// replaced whole, so that nothing it held before (a kubeconfig with admin
// credentials, say) survives.
func writeSecret(ctx context.Context, hub client.Client, opts RegisterOptions, token string, ca []byte) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName(opts.Name), Namespace: opts.Namespace}}
	res, err := controllerutil.CreateOrUpdate(ctx, hub, s, func() error {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[managedByLabel] = "flotilla"
		s.Labels[flotillav1.ClusterLabel] = opts.Name
		if s.Type == "" {
			s.Type = corev1.SecretTypeOpaque
		}
		s.Data = map[string][]byte{KeyBearerToken: []byte(token), KeyCAData: ca}
		s.StringData = nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", "Secret", s.Namespace, s.Name, err)
	}
	opts.Progress(fmt.Sprintf("hub: Secret %s/%s %s (bearerToken, caData)", s.Namespace, s.Name, res))
	return nil
}

// writeCluster creates or updates the Cluster; its limits and other labels
// are kept.
func writeCluster(ctx context.Context, hub client.Client, opts RegisterOptions, server string) (*flotillav1.Cluster, error) {
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: opts.Name, Namespace: opts.Namespace}}
	res, err := controllerutil.CreateOrUpdate(ctx, hub, c, func() error {
		if len(opts.Labels) > 0 && c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, opts.Labels)
		c.Spec.Server = server
		c.Spec.CredentialsRef = &flotillav1.LocalObjectReference{Name: SecretName(opts.Name)}
		c.Spec.Mode = flotillav1.ClusterModePush
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", "Cluster", c.Namespace, c.Name, err)
	}
	opts.Progress(fmt.Sprintf("hub: Cluster %s/%s %s (server %s)", c.Namespace, c.Name, res, server))
	return c, nil
}

// Unregister removes the Cluster name and its credentials Secret from the
// hub, and returns what it removed. It never reaches the target: what
// Applications deployed there stays (their Applications report
// ClusterUnavailable and prune nothing), and so does the ServiceAccount;
// RevokeAccess removes that.
//
// The Secret is kept when another Cluster still refers to it. When the
// Cluster is already gone, a Secret Register left behind for it is removed.
func Unregister(ctx context.Context, hub client.Client, namespace, name string) ([]string, error) {
	fail := func(step string, err error) ([]string, error) {
		return nil, &StepError{Cluster: name, Step: step, Err: err}
	}
	if namespace == "" {
		namespace = flotillav1.DefaultNamespace
	}
	var removed []string
	c := &flotillav1.Cluster{}
	err := hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, c)
	switch {
	case apierrors.IsNotFound(err):
		removed, err = removeLeftoverSecret(ctx, hub, namespace, name)
		if err != nil {
			return fail("remove the credentials Secret", err)
		}
		if len(removed) == 0 {
			return fail("find the Cluster", fmt.Errorf("no Cluster %s in namespace %s: %w", name, namespace, ErrNotRegistered))
		}
		return removed, nil
	case err != nil:
		return fail("find the Cluster", err)
	}
	if err := hub.Delete(ctx, c); client.IgnoreNotFound(err) != nil {
		return fail("delete the Cluster", err)
	}
	removed = append(removed, "Cluster "+namespace+"/"+name)
	if c.Spec.CredentialsRef == nil {
		return removed, nil
	}
	secret := c.Spec.CredentialsRef.Name
	shared, err := secretUsedByOthers(ctx, hub, namespace, name, secret)
	if err != nil {
		return removed, &StepError{Cluster: name, Step: "check who uses Secret " + secret, Err: err}
	}
	if shared {
		return removed, nil
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: secret}}
	if err := hub.Delete(ctx, s); err != nil {
		if apierrors.IsNotFound(err) {
			return removed, nil
		}
		return removed, &StepError{Cluster: name, Step: "delete Secret " + secret, Err: err}
	}
	return append(removed, "Secret "+namespace+"/"+secret), nil
}

// removeLeftoverSecret deletes cluster-<name> when Register made it for name.
func removeLeftoverSecret(ctx context.Context, hub client.Client, namespace, name string) ([]string, error) {
	s := &corev1.Secret{}
	err := hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: SecretName(name)}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.Labels[flotillav1.ClusterLabel] != name {
		return nil, nil
	}
	if err := hub.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	return []string{"Secret " + namespace + "/" + s.Name}, nil
}

func secretUsedByOthers(ctx context.Context, hub client.Client, namespace, name, secret string) (bool, error) {
	var list flotillav1.ClusterList
	if err := hub.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return false, err
	}
	for _, other := range list.Items {
		if other.Name != name && other.Spec.CredentialsRef != nil && other.Spec.CredentialsRef.Name == secret {
			return true, nil
		}
	}
	return false, nil
}

// RevokeAccess removes from the target what Register made there: the token
// Secret (which invalidates the token at once), the ClusterRoleBinding, the
// ClusterRole and the ServiceAccount. It keeps the flotilla-system namespace
// and everything else in the target. Every registration of the target, from
// any hub, shares this ServiceAccount: revoking cuts them all.
func RevokeAccess(ctx context.Context, target *rest.Config) ([]string, error) {
	cs, err := kubernetes.NewForConfig(target)
	if err != nil {
		return nil, err
	}
	steps := []struct {
		what string
		del  func() error
	}{
		{"Secret " + ManagerNamespace + "/" + ManagerTokenSecret, func() error {
			return cs.CoreV1().Secrets(ManagerNamespace).Delete(ctx, ManagerTokenSecret, metav1.DeleteOptions{})
		}},
		{"ClusterRoleBinding " + ManagerName, func() error {
			return cs.RbacV1().ClusterRoleBindings().Delete(ctx, ManagerName, metav1.DeleteOptions{})
		}},
		{"ClusterRole " + ManagerName, func() error {
			return cs.RbacV1().ClusterRoles().Delete(ctx, ManagerName, metav1.DeleteOptions{})
		}},
		{"ServiceAccount " + ManagerNamespace + "/" + ManagerName, func() error {
			return cs.CoreV1().ServiceAccounts(ManagerNamespace).Delete(ctx, ManagerName, metav1.DeleteOptions{})
		}},
	}
	var removed []string
	for _, s := range steps {
		err := s.del()
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("target: delete %s: %w", s.what, err)
		}
		removed = append(removed, s.what)
	}
	return removed, nil
}
