package project_test

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/project"
)

func Example() {
	pol, err := project.Compile(&flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:              []string{"https://git.example.com/team-a/*"},
			Destinations:             []flotillav1.ProjectDestination{{Cluster: "staging-*", Namespace: "team-a-*"}},
			ClusterResourceWhitelist: []flotillav1.GroupKindPattern{{Group: "", Kind: "Namespace"}},
			ServiceAccount:           "team-a-deployer",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pol.CheckSource("https://git.example.com/team-a/shop.git"))
	fmt.Println(pol.CheckSource("https://git.example.com/team-b/shop.git"))
	fmt.Println(pol.CheckDestination("staging-eu", "team-a-shop"))
	fmt.Println(pol.CheckDestination("staging-eu", "kube-system"))

	err = pol.CheckObjects("staging-eu", []project.ObjectRef{
		{Kind: "Namespace", Name: "team-a-shop"},
		{Group: "apps", Kind: "Deployment", Namespace: "team-a-shop", Namespaced: true, Name: "web"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin-all"},
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, project.ErrViolation))
	fmt.Println(pol.ImpersonationUser("team-a-shop"))

	// Without a Project named "default", the built-in one allows all but
	// Flotilla's own namespace.
	def, _ := project.Compile(nil)
	fmt.Println(def.CheckDestination("in-cluster", "flotilla-system"))
	// Output:
	// <nil>
	// project team-a: source https://git.example.com/team-b/shop is not in sourceRepos
	// <nil>
	// project team-a: destination staging-eu/kube-system is not in destinations
	// project team-a: ClusterRole/admin-all: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not in clusterResourceWhitelist
	// true
	// system:serviceaccount:team-a-shop:team-a-deployer
	// project default: destination in-cluster/flotilla-system is Flotilla's own namespace, which only a destination naming it exactly allows
}
