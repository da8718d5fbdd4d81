# The image of a Violet release: the static binary on distroless, non-root.
# The debug variant carries busybox's sh, which CI systems need to run a
# job's script in the image (GitLab runs every job through the image's
# shell); nothing else is added.
# GoReleaser builds it from the binaries of the release (.goreleaser.yaml);
# the binary is copied, not built, so the image holds the same bytes as the
# archives.
FROM gcr.io/distroless/static-debian12:debug-nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/violet /usr/local/bin/violet
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/violet"]
