#!/usr/bin/env bash
# Builds the Flux controllers that `make bench-peers` compares Flotilla with
# (source-controller and kustomize-controller, at the versions pinned in this
# module) into a cache folder outside the repository, with their
# CustomResourceDefinitions, taken from the modules' own config/crd/bases, in
# crds/ beside them. Flotilla never imports this module.
#
# It is idempotent: when the binaries are already there for the pinned
# versions, it prints the folder and exits. The build is CPU-heavy (several
# minutes); it runs under nice.
#
#   FLOTILLA_PEERS_BIN   where the binaries go
#                        (default ~/.cache/flotilla/peers/<versions>)
#
# It prints the folder on its last line of standard output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "${here}"
modules=(github.com/fluxcd/source-controller github.com/fluxcd/kustomize-controller)
binaries=(source-controller kustomize-controller)

version_of() { go list -m -f '{{.Version}}' "$1"; }
sc="$(version_of github.com/fluxcd/source-controller)"
kc="$(version_of github.com/fluxcd/kustomize-controller)"
bin="${FLOTILLA_PEERS_BIN:-${HOME}/.cache/flotilla/peers/flux-sc-${sc}-kc-${kc}}"

# The stamp ties the cache to the pinned versions: a change to go.mod or
# go.sum rebuilds everything.
stamp="$(cat go.mod go.sum "${here}/build.sh" | sha256sum | cut -c1-16)"

complete() {
  [[ -f "${bin}/.stamp" && "$(cat "${bin}/.stamp")" == "${stamp}" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x "${bin}/${b}" ]] || return 1; done
  compgen -G "${bin}/crds/*.yaml" >/dev/null
}

if complete; then
  echo "${bin}"
  exit 0
fi

echo "hack/peers: building source-controller ${sc} and kustomize-controller ${kc} into ${bin} (several minutes the first time)" >&2
mkdir -p "${bin}"
tmp="$(mktemp -d "${bin}/.build.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT
mkdir -p "${tmp}/crds"

start=$(date +%s)
for i in "${!modules[@]}"; do
  mod="${modules[$i]}"
  echo "hack/peers: go build ${mod}" >&2
  CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "-s -w" -o "${tmp}/${binaries[$i]}" "${mod}"
  dir="$(go list -m -f '{{.Dir}}' "${mod}")"
  cp "${dir}"/config/crd/bases/*.yaml "${tmp}/crds/"
  chmod 0644 "${tmp}"/crds/*.yaml
done
rm -rf "${bin}/crds"
mv "${tmp}/crds" "${bin}/crds"
for b in "${binaries[@]}"; do mv -f "${tmp}/${b}" "${bin}/${b}"; done
echo "${stamp}" > "${bin}/.stamp"
echo "hack/peers: built in $(( $(date +%s) - start ))s" >&2
echo "${bin}"
