#!/usr/bin/env bash
# Builds the container image of the Lambda (Dockerfile: FROM scratch + the static binary) with
# buildah — no Docker daemon — and writes it as an OCI archive; then unpacks it and runs the
# image's entrypoint once (`--identity`; under qemu-user for arm64 on an x86_64 machine).
#
#   tools/package/image.sh arm64|x86_64     (after tools/package/build.sh for that architecture)
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:?usage: image.sh arm64|x86_64}
binary=target/lambda/stratus-lambda-$arch/bootstrap
[ -x "$binary" ] || { echo "no $binary: run tools/package/build.sh $arch first" >&2; exit 2; }
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/$(dirname "$binary")"
cp "$binary" "$context/$binary"
cp /etc/ssl/certs/ca-certificates.crt "$context/"
cp Dockerfile "$context/"
case "$arch" in arm64) platform=linux/arm64 ;; x86_64) platform=linux/amd64 ;; esac
buildah --storage-driver vfs bud --isolation chroot --platform "$platform" \
  --build-arg "BINARY=$binary" -t "stratus-lambda:$arch" "$context"
out=target/lambda/stratus-lambda-$arch.oci.tar
rm -f "$out"
buildah --storage-driver vfs push "stratus-lambda:$arch" "oci-archive:$out:$arch"
echo "image: $out ($(du -h "$out" | cut -f1))"
# Run the entrypoint from the image's own filesystem.
unpacked=$(mktemp -d)
mkdir -p "$unpacked/oci"
tar -xf "$out" -C "$unpacked/oci"
umoci unpack --rootless --image "$unpacked/oci:$arch" "$unpacked/bundle" >/dev/null
entry="$unpacked/bundle/rootfs/bootstrap"
if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  identity=$(qemu-aarch64-static "$entry" --identity)
else
  identity=$("$entry" --identity)
fi
rm -rf "$unpacked"
[ "$identity" = "stratus-lambda/bootstrap/v1" ] || { echo "the image's entrypoint answered: $identity" >&2; exit 1; }
echo "entrypoint ran: $identity"
