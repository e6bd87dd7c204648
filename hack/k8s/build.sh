#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries that internal/localfleet runs
# (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok, and
# kubectl for people and tests) from the versions pinned in this module, into
# a cache folder outside the repository, with kwok's default Stages beside them
# in kwok-stages.yaml.
#
# It is idempotent: when every binary is already there for the pinned versions,
# it prints the folder and exits. The first build takes several minutes.
#
#   FLOTILLA_K8S_BIN   where the binaries go (default ~/.cache/flotilla/k8s/v1.37.2)
#
# It prints the folder on its last line of standard output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="v1.37.2"
major="1"
minor="37"
bin="${FLOTILLA_K8S_BIN:-${HOME}/.cache/flotilla/k8s/${version}}"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

# The stamp ties the cache to the pinned versions: a change to go.mod or
# go.sum rebuilds everything.
stamp="$(cat "${here}/go.mod" "${here}/go.sum" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"

complete() {
  [[ -f "${bin}/.stamp" && "$(cat "${bin}/.stamp")" == "${stamp}" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x "${bin}/${b}" ]] || return 1; done
  [[ -s "${bin}/kwok-stages.yaml" ]]
}

if complete; then
  echo "${bin}"
  exit 0
fi

echo "hack/k8s: building Kubernetes ${version} control plane into ${bin} (several minutes the first time)" >&2
mkdir -p "${bin}"
tmp="$(mktemp -d "${bin}/.build.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT

stampflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stampflags+=" -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
  stampflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done
stampflags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=v0.8.0"

cd "${here}"
start=$(date +%s)
for b in "${binaries[@]}"; do
  case "${b}" in
    etcd) pkg="./cmd/etcd" ;;
    kwok) pkg="sigs.k8s.io/kwok/cmd/kwok" ;;
    *) pkg="k8s.io/kubernetes/cmd/${b}" ;;
  esac
  echo "hack/k8s: go build ${b}" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${stampflags}" -o "${tmp}/${b}" "${pkg}"
done
go run ./cmd/kwok-stages > "${tmp}/kwok-stages.yaml"
for f in "${binaries[@]}" kwok-stages.yaml; do mv -f "${tmp}/${f}" "${bin}/${f}"; done
echo "${stamp}" > "${bin}/.stamp"
echo "hack/k8s: built in $(( $(date +%s) - start ))s" >&2
echo "${bin}"
