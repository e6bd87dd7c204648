package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

// RegisterOptions say how to record a cluster in agent mode in the hub.
type RegisterOptions struct {
	// Name of the Cluster: a DNS label, not "in-cluster".
	Name      string
	Namespace string
	Labels    map[string]string
	// HubServer is the URL the agent reaches the hub at; empty means the
	// hub configuration's host.
	HubServer string
	// TokenTimeout bounds the wait for the token controller.
	TokenTimeout time.Duration
	Progress     func(step string)
}

// DefaultRegisterOptions record the cluster in flotilla-system.
func DefaultRegisterOptions() RegisterOptions {
	return RegisterOptions{Namespace: flotillav1.DefaultNamespace, TokenTimeout: time.Minute, Progress: func(string) {}}
}

// Register records the Cluster in agent mode and makes its agent's hub
// credential: the ServiceAccount flotilla-agent-NAME, its token Secret,
// the Role of that name (which the controller then keeps equal to the
// cluster's Applications) and its RoleBinding. It returns the kubeconfig
// of that credential. Running it again is safe.
func Register(ctx context.Context, hubCfg *rest.Config, hub client.Client, opts RegisterOptions) (*flotillav1.Cluster, []byte, error) {
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if errs := validation.IsDNS1123Label(opts.Name); len(errs) > 0 || opts.Name == flotillav1.InCluster {
		return nil, nil, fmt.Errorf("cluster name %q: want a DNS label other than %s", opts.Name, flotillav1.InCluster)
	}
	name := cluster.AgentName(opts.Name)
	labels := map[string]string{"app.kubernetes.io/managed-by": "flotilla", flotillav1.ClusterLabel: opts.Name}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace, Labels: labels}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-token", Namespace: opts.Namespace, Labels: labels,
				Annotations: map[string]string{corev1.ServiceAccountNameKey: name}},
			Type: corev1.SecretTypeServiceAccountToken,
		},
		cluster.AgentRole(opts.Namespace, opts.Name, cluster.AgentGrants{}),
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: opts.Namespace, Name: name}},
		},
	}
	for _, obj := range objs {
		// Created once: the controller owns the Role's rules from then on.
		if err := hub.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, nil, fmt.Errorf("hub: %T %s/%s: %w", obj, opts.Namespace, obj.GetName(), err)
		}
		opts.Progress(fmt.Sprintf("hub: %s %s/%s", kindOf(obj), opts.Namespace, obj.GetName()))
	}
	c, err := writeCluster(ctx, hub, opts)
	if err != nil {
		return nil, nil, err
	}
	token, ca, err := waitToken(ctx, hub, opts.Namespace, name+"-token", opts.TokenTimeout)
	if err != nil {
		return nil, nil, err
	}
	server := opts.HubServer
	if server == "" {
		server = hubCfg.Host
	}
	kc, err := kubeconfig(server, ca, token, opts.Namespace)
	return c, kc, err
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *corev1.Secret:
		return "Secret"
	case *rbacv1.Role:
		return "Role"
	default:
		return "RoleBinding"
	}
}

// writeCluster creates or updates the Cluster in agent mode; its other
// labels and its limits are kept, its push credentials dropped.
func writeCluster(ctx context.Context, hub client.Client, opts RegisterOptions) (*flotillav1.Cluster, error) {
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: opts.Name, Namespace: opts.Namespace}}
	res, err := controllerutil.CreateOrUpdate(ctx, hub, c, func() error {
		if len(opts.Labels) > 0 && c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, opts.Labels)
		c.Spec.Mode = flotillav1.ClusterModeAgent
		c.Spec.CredentialsRef = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hub: Cluster %s/%s: %w", c.Namespace, c.Name, err)
	}
	opts.Progress(fmt.Sprintf("hub: Cluster %s/%s %s (mode agent)", c.Namespace, c.Name, res))
	return c, nil
}

// waitToken waits until the token controller has filled the Secret.
func waitToken(ctx context.Context, hub client.Client, namespace, name string, timeout time.Duration) (string, []byte, error) {
	var token string
	var ca []byte
	poll := func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		if err := hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
			return false, nil
		}
		token, ca = string(s.Data[corev1.ServiceAccountTokenKey]), s.Data[corev1.ServiceAccountRootCAKey]
		return token != "" && len(ca) > 0, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, poll); err != nil {
		return "", nil, errors.New("hub: Secret " + namespace + "/" + name + " has no token after " + timeout.String() +
			" (does the hub run kube-controller-manager's token controller?)")
	}
	return token, ca, nil
}

// kubeconfig is the agent's hub credential as a kubeconfig whose context
// defaults to namespace.
func kubeconfig(server string, ca []byte, token, namespace string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hub"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["agent"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "agent", Namespace: namespace}
	cfg.CurrentContext = "hub"
	return clientcmd.Write(*cfg)
}
