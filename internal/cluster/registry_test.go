package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

// TestRegistryCredentialsBinding: a credentials Secret serves one Cluster:
// the one its flotilla.dev/cluster label names, or without the label the
// first Cluster that named it. A later Cluster naming it gets an error that
// says whose it is.
func TestRegistryCredentialsBinding(t *testing.T) {
	ctx := t.Context()
	hub := hubClient(t)
	reg := cluster.NewRegistry(hub, hubCluster.RESTConfig(), cluster.DefaultOptions())
	server := "https://127.0.0.1:1"
	data := map[string][]byte{"bearerToken": []byte("canary-binding-token"), "caData": targetCluster.CACert}
	secret := func(name string, labels map[string]string) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace, Labels: labels}, Data: data}
		if err := hub.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Delete(context.Background(), s) })
	}
	newCluster := func(name, secret string) *flotillav1.Cluster {
		c := &flotillav1.Cluster{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Spec:       flotillav1.ClusterSpec{Server: server, CredentialsRef: &flotillav1.LocalObjectReference{Name: secret}},
		}
		if err := hub.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Delete(context.Background(), c) })
		return c
	}
	labelled, unlabelled := uniqueName("bound"), uniqueName("unbound")
	secret(labelled, map[string]string{flotillav1.ClusterLabel: "owner-a"})
	secret(unlabelled, nil)
	newCluster("owner-a", labelled)
	first := newCluster("owner-b", unlabelled)
	// Creation times count in seconds: the later Clusters must be later.
	time.Sleep(time.Until(first.CreationTimestamp.Add(1100 * time.Millisecond)))
	newCluster("a-thief", labelled)
	newCluster("a-later", unlabelled)

	for _, tc := range []struct{ name, want string }{
		{"owner-a", ""},
		{"owner-b", ""},
		{"a-thief", "is labelled flotilla.dev/cluster=owner-a: it serves that Cluster only"},
		{"a-later", "serves Cluster owner-b, which named it first"},
	} {
		_, err := reg.Get(ctx, flotillav1.DefaultNamespace, tc.name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, cluster.ErrUnavailable)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestRegistryRefusesCredentialsOverPlainHTTP: a bearer token, or a
// kubeconfig's token redirected by spec.server to an http:// server, is
// refused before any client is made; an anonymous http server is not. (A
// kubeconfig whose own server is http:// gets no credentials from
// client-go in the first place.)
func TestRegistryRefusesCredentialsOverPlainHTTP(t *testing.T) {
	ctx := t.Context()
	hub := hubClient(t)
	reg := cluster.NewRegistry(hub, hubCluster.RESTConfig(), cluster.DefaultOptions())
	kubeconfig := func(server string, user *clientcmdapi.AuthInfo) []byte {
		kc := clientcmdapi.NewConfig()
		kc.Clusters["c"] = &clientcmdapi.Cluster{Server: server}
		kc.AuthInfos["u"] = user
		kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
		kc.CurrentContext = "c"
		data, err := clientcmd.Write(*kc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, tc := range []struct {
		name   string
		server string
		data   map[string][]byte
		want   string
	}{
		{"token", "http://127.0.0.1:1", map[string][]byte{"bearerToken": []byte("t")}, "over plain http"},
		{"kc-override", "http://127.0.0.1:1", map[string][]byte{"kubeconfig": kubeconfig("https://127.0.0.1:1", &clientcmdapi.AuthInfo{Token: "t"})}, "over plain http"},
		{"kc-anonymous", "", map[string][]byte{"kubeconfig": kubeconfig("http://127.0.0.1:1", &clientcmdapi.AuthInfo{})}, ""},
		{"https-token", "https://127.0.0.1:1", map[string][]byte{"bearerToken": []byte("t")}, ""},
	} {
		name := uniqueName("http-" + tc.name)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}, Data: tc.data}
		c := &flotillav1.Cluster{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Spec:       flotillav1.ClusterSpec{Server: tc.server, CredentialsRef: &flotillav1.LocalObjectReference{Name: name}},
		}
		if err := hub.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Delete(context.Background(), s) })
		if err := hub.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Delete(context.Background(), c) })
		_, err := reg.Get(ctx, flotillav1.DefaultNamespace, name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestRegistryAgentMode: a Cluster in agent mode resolves to ErrAgentMode
// (and ErrUnavailable), even when it names a credentials Secret, and
// naming it once the Cluster leaves agent mode resolves.
func TestRegistryAgentMode(t *testing.T) {
	ctx := t.Context()
	hub := hubClient(t)
	reg := cluster.NewRegistry(hub, hubCluster.RESTConfig(), cluster.DefaultOptions())
	name := uniqueName("agent")
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Data: map[string][]byte{"bearerToken": []byte("agent-mode-token"), "caData": targetCluster.CACert}}
	if err := hub.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Delete(context.Background(), s) })
	c := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ClusterSpec{Mode: flotillav1.ClusterModeAgent, Server: "https://127.0.0.1:1",
			CredentialsRef: &flotillav1.LocalObjectReference{Name: name}},
	}
	if err := hub.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Delete(context.Background(), c) })

	_, err := reg.Get(ctx, flotillav1.DefaultNamespace, name)
	if !errors.Is(err, cluster.ErrAgentMode) || !errors.Is(err, cluster.ErrUnavailable) || !strings.Contains(err.Error(), name) {
		t.Fatalf("Get of an agent-mode Cluster: %v, want ErrAgentMode and ErrUnavailable naming it", err)
	}
	c.Spec.Mode = flotillav1.ClusterModePush
	if err := hub.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Get(ctx, flotillav1.DefaultNamespace, name); err != nil {
		t.Errorf("Get once out of agent mode: %v", err)
	}
}
