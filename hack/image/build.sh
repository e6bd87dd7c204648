#!/usr/bin/env bash
# Builds Flotilla's container image without Docker: the flotilla binary for
# amd64 and arm64 on a minimal base of Debian packages (CA certificates, git,
# the ssh client and what they need), written as an OCI image layout with an
# SPDX SBOM beside it. See docs/install.md.
#
#   IMAGE_DIR   where the OCI layout goes (default bin/image)
#   PLATFORMS   the architectures (default "amd64 arm64")
#   VERSION     the version stamped into the binary and the labels
#
# The Debian packages are downloaded once per architecture into
# ~/.cache/flotilla/image-base (FLOTILLA_CACHE overrides ~/.cache/flotilla)
# with apt-get, using a state of its own (no root needed, nothing installed
# on this machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${IMAGE_DIR:-bin/image}"
platforms="${PLATFORMS:-amd64 arm64}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)"
cache="${FLOTILLA_CACHE:-${HOME}/.cache/flotilla}/image-base"
work="bin/image-build"
# dash is /bin/sh, through which git runs GIT_SSH_COMMAND.
packages=(ca-certificates dash git openssh-client)

fetch_base() {
	local arch="$1" dir="${cache}/$1"
	local stamp="${dir}/packages.done"
	if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${packages[*]}" ]]; then
		return
	fi
	rm -rf "${dir}"
	mkdir -p "${dir}/lists/partial" "${dir}/archives/partial" "${dir}/sources.list.d"
	touch "${dir}/status"
	cp /etc/apt/sources.list.d/*.sources "${dir}/sources.list.d/" 2>/dev/null || true
	if [[ -f /etc/apt/sources.list ]]; then cp /etc/apt/sources.list "${dir}/sources.list"; else touch "${dir}/sources.list"; fi
	local apt=(apt-get -qq
		-o "Dir::State::Lists=${dir}/lists" -o "Dir::State::status=${dir}/status"
		-o "Dir::Cache::archives=${dir}/archives" -o "Dir::Etc::SourceList=${dir}/sources.list"
		-o "Dir::Etc::SourceParts=${dir}/sources.list.d" -o "APT::Architecture=${arch}"
		-o "APT::Architectures::=${arch}" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
	echo "image: downloading the ${arch} base (${packages[*]} and their dependencies)" >&2
	"${apt[@]}" update
	"${apt[@]}" -y --no-install-recommends --download-only install "${packages[@]}"
	echo "${packages[*]}" >"${stamp}"
}

rm -rf "${work}"
args=()
for arch in ${platforms}; do
	fetch_base "${arch}"
	rootfs="${work}/rootfs-${arch}"
	mkdir -p "${rootfs}"
	for deb in "${cache}/${arch}"/archives/*.deb; do
		dpkg-deb -x "${deb}" "${rootfs}"
		dpkg-deb --show --showformat '${Package}\t${Version}\t${Architecture}\n' "${deb}" >>"${work}/packages-${arch}.tsv"
	done
	echo "image: building flotilla for linux/${arch}" >&2
	CGO_ENABLED=0 GOOS=linux GOARCH="${arch}" go build -trimpath \
		-ldflags "-s -w -X github.com/flotilla-dev/flotilla/internal/version.Version=${version}" \
		-o "${work}/flotilla-${arch}" ./cmd/flotilla
	args+=(--platform "${arch}=${rootfs},${work}/flotilla-${arch},${work}/packages-${arch}.tsv")
done
go run ./hack/image build --out "${out}" --version "${version}" --commit "${commit}" --created "${created}" "${args[@]}"
rm -rf "${work}"
echo "image: ${out} (OCI layout) and ${out}/sbom.spdx.json" >&2
