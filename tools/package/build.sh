#!/usr/bin/env bash
# Builds the Lambda binary for one architecture as a static musl executable with cargo-lambda
# (PyPI, brings zig as its linker: no cross toolchain, no Docker) and packages it with
# `stratus package lambda`, which checks the binary (architecture, glibc, identity).
#
#   tools/package/build.sh arm64|x86_64 [cargo profile, default release]
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:?usage: build.sh arm64|x86_64 [profile]}
profile=${2:-release}
case "$arch" in
  arm64) target=aarch64-unknown-linux-musl ;;
  x86_64) target=x86_64-unknown-linux-musl ;;
  *) echo "architecture must be arm64 or x86_64" >&2; exit 2 ;;
esac
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'cargo-lambda==1.9.2'
rustup target add "$target" >/dev/null 2>&1 || true
cargo lambda build --profile "$profile" --target "$target" -p stratus-lambda
dir=target/lambda/stratus-lambda-$arch
mkdir -p "$dir"
# cargo-lambda leaves the binary as target/lambda/stratus-lambda/bootstrap.
cp target/lambda/stratus-lambda/bootstrap "$dir/bootstrap"
cargo run --quiet -p stratus-cli -- package lambda --binary "$dir/bootstrap" --out "target/lambda/stratus-lambda-$arch.zip"
