# The Stratus Lambda as a container image: the static (musl) `stratus-lambda` binary on an empty
# base. Lambda runs any image whose entrypoint speaks the Runtime API, and this binary is its own
# runtime, so no base image (and no registry pull) is needed. Built without a Docker daemon by
# tools/package/image.sh (buildah); push it to ECR and set `artifacts.image` in the manifest.
#
#   tools/package/image.sh arm64      # or x86_64
FROM scratch
ARG BINARY=target/lambda/stratus-lambda-arm64/bootstrap
# The SDKs verify AWS's TLS certificates against these roots.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${BINARY} /bootstrap
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/bootstrap"]
