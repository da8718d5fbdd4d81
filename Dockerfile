# The image of a Violet release: the static binary on distroless, non-root.
# GoReleaser builds it from the binaries of the release (.goreleaser.yaml);
# the binary is copied, not built, so the image holds the same bytes as the
# archives.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/violet /usr/local/bin/violet
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/violet"]
