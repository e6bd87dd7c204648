#!/usr/bin/env bash
# Installs what Flotilla's tests need beyond Go and the Kubernetes binaries
# (which hack/k8s/build.sh builds). Safe to run again: it installs only what
# is missing, with apt-get when run as root.
set -euo pipefail

missing=()
# git, with git http-backend for internal/gitserver's HTTP server.
command -v git >/dev/null || missing+=(git)
# ssh: the client git runs for ssh:// repositories (internal/source tests).
command -v ssh >/dev/null || missing+=(openssh-client)
# chromium: the headless browser of the web UI's end-to-end tests (test/ui).
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "hack/test-deps.sh: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "hack/test-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
