package agent

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/install"
)

// HubSecret is the Secret, in the agent's namespace of its cluster, that
// holds the hub kubeconfig (key "kubeconfig") the agent runs with.
const HubSecret = "flotilla-agent-hub"

// ManifestOptions say what the agent's install manifests hold.
type ManifestOptions struct {
	// Cluster is the agent's Cluster in the hub.
	Cluster string
	// HubNamespace holds it there.
	HubNamespace string
	// Namespace is the agent's own in its cluster.
	Namespace string
	// Image is the agent's image; empty means this binary's version.
	Image string
}

// Manifests are what runs an agent in its cluster: Flotilla's CRDs and
// namespace, the ServiceAccount flotilla-agent bound to a ClusterRole that
// may do anything there (it deploys whatever its Applications hold), and
// its Deployment, which reads the hub kubeconfig from the Secret HubSecret.
// The Secret itself is not among them: the credential is never printed.
func Manifests(opts ManifestOptions) ([]byte, error) {
	inst := install.DefaultOptions()
	inst.Namespace = opts.Namespace
	base, err := install.Manifests(inst)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# The agent of Cluster %s. Create its hub credential first:\n", opts.Cluster)
	fmt.Fprintf(&out, "#   kubectl create namespace %s\n", opts.Namespace)
	fmt.Fprintf(&out, "#   kubectl -n %s create secret generic %s --from-file=kubeconfig=AGENT_KUBECONFIG\n", opts.Namespace, HubSecret)
	for _, u := range base {
		if err := writeDoc(&out, u.Object); err != nil {
			return nil, err
		}
	}
	for _, obj := range agentObjects(opts) {
		if err := writeDoc(&out, obj); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

func writeDoc(out *bytes.Buffer, obj any) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	out.WriteString("---\n")
	out.Write(data)
	return nil
}

func agentObjects(opts ManifestOptions) []runtime.Object {
	const name = "flotilla-agent"
	image := opts.Image
	if image == "" {
		image = install.DefaultImageRef()
	}
	labels := map[string]string{"app.kubernetes.io/name": "flotilla", "app.kubernetes.io/component": "agent"}
	meta := metav1.ObjectMeta{Name: name, Namespace: opts.Namespace, Labels: labels}
	return []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
		&rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
				{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
			},
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: opts.Namespace, Name: name}},
		},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				// One agent at a time: two would both apply.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       agentPod(opts, image),
				},
			},
		},
	}
}

func agentPod(opts ManifestOptions, image string) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName: "flotilla-agent",
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "agent",
			Image: image,
			Args: []string{"agent",
				"--hub-kubeconfig=/etc/flotilla/hub/kubeconfig",
				"--hub-namespace=" + opts.HubNamespace,
				"--cluster=" + opts.Cluster,
				"--namespace=" + opts.Namespace,
				"--cache-dir=/cache", "--metrics-addr=:8080", "--health-addr=:8081",
			},
			Env: []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}},
			Ports: []corev1.ContainerPort{
				{Name: "metrics", ContainerPort: 8080}, {Name: "health", ContainerPort: 8081},
			},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("health")}}, InitialDelaySeconds: 5, PeriodSeconds: 20},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("96Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "hub", MountPath: "/etc/flotilla/hub", ReadOnly: true},
				{Name: "cache", MountPath: "/cache"}, {Name: "tmp", MountPath: "/tmp"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "hub", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: HubSecret}}},
			{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
}

// DefaultManifestOptions run the agent in flotilla-system, with its
// Cluster in the hub's flotilla-system.
func DefaultManifestOptions() ManifestOptions {
	return ManifestOptions{HubNamespace: flotillav1.DefaultNamespace, Namespace: flotillav1.DefaultNamespace}
}
