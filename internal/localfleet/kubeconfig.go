package localfleet

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes one context per cluster, named after the cluster,
// with the first cluster as the current context.
func writeKubeconfig(path string, clusters []*Cluster) error {
	return clientcmd.WriteToFile(*kubeconfig(clusters), path)
}

// Kubeconfig returns a self-contained kubeconfig (certificates embedded) for
// this cluster alone, with its admin identity: what a Cluster Secret holds.
func (c *Cluster) Kubeconfig() ([]byte, error) {
	return clientcmd.Write(*kubeconfig([]*Cluster{c}))
}

func kubeconfig(clusters []*Cluster) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	for i, c := range clusters {
		cfg.Clusters[c.Name] = &clientcmdapi.Cluster{
			Server:                   c.Server,
			CertificateAuthorityData: c.CACert,
		}
		cfg.AuthInfos[c.Name+"-admin"] = &clientcmdapi.AuthInfo{
			ClientCertificateData: c.AdminCert,
			ClientKeyData:         c.AdminKey,
		}
		cfg.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: c.Name + "-admin"}
		if i == 0 {
			cfg.CurrentContext = c.Name
		}
	}
	return cfg
}
