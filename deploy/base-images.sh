#!/usr/bin/env bash
# Build the images Duban's Dockerfile and compose file start FROM, out of Debian's packages, for
# sites where no image registry can be reached (air-gapped builds, CI). Each is tagged as the
# registry's name, so deploy/Dockerfile and docker-compose.yml work unchanged on top of them:
#
#   deploy/base-images.sh                      # python:3.11-slim-bookworm (the Dockerfile's FROM)
#   deploy/base-images.sh python postgres redis   # and compose's postgres:15-bookworm, redis:7-bookworm
#   podman build -f deploy/Dockerfile -t duban:latest .
#
# First debian:bookworm-slim from mmdebstrap, then each of deploy/images/<name>.Containerfile on
# top of it. Needs root, mmdebstrap and podman (or docker: ENGINE=docker). Environment:
#   ENGINE    podman (default) or docker
#   MIRROR    a Debian mirror (default: the one mmdebstrap picks, deb.debian.org)
#   EXTRA_CA  a directory of *.crt certificates the images must trust, e.g. a TLS-inspecting
#             proxy's (default: /usr/local/share/ca-certificates, the host's own additions);
#             pip in the images is pointed at the system store, so it trusts them too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
engine="${ENGINE:-podman}"
extra_ca="${EXTRA_CA:-/usr/local/share/ca-certificates}"
python_version="$(sed -n 's/^ARG PYTHON_VERSION=//p' "$here/Dockerfile")"
[ $# -gt 0 ] || set -- python

declare -A tags=(
  [python]="docker.io/library/python:${python_version}-slim-bookworm"
  [postgres]="docker.io/library/postgres:15-bookworm"
  [redis]="docker.io/library/redis:7-bookworm"
)
for name in "$@"; do
  [ -n "${tags[$name]:-}" ] || { echo "no image named $name (python, postgres, redis)" >&2; exit 2; }
done
if [ "$python_version" != "3.11" ]; then
  echo "bookworm ships Python 3.11; the Dockerfile asks for $python_version" >&2
  exit 1
fi

hooks=()
if compgen -G "$extra_ca/*.crt" >/dev/null; then
  hooks+=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
  hooks+=(--customize-hook="sync-in '$extra_ca' /usr/local/share/ca-certificates")
  hooks+=(--customize-hook='chroot "$1" update-ca-certificates --fresh >/dev/null 2>&1')
fi
tarball="$(mktemp --suffix=.tar)"
trap 'rm -f "$tarball"' EXIT
# minbase without docs, man pages or translations, as the registry's -slim images are.
mmdebstrap --variant=minbase --quiet --include=ca-certificates \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="upload '$here/images/apt-docker-clean' /etc/apt/apt.conf.d/docker-clean" \
  --customize-hook="upload '$here/images/pip.conf' /etc/pip.conf" \
  "${hooks[@]}" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$tarball" ${MIRROR:+"$MIRROR"}
"$engine" import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' "$tarball" \
  docker.io/library/debian:bookworm-slim >/dev/null
echo docker.io/library/debian:bookworm-slim

for name in "$@"; do
  "$engine" build --quiet -f "$here/images/$name.Containerfile" -t "${tags[$name]}" "$here/images" >/dev/null
  echo "${tags[$name]}"
done
