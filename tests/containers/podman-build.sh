#!/usr/bin/env bash
# Builds examples/Dockerfile and integrations/kubernetes/Dockerfile for real with podman, runs
# the service image, and checks it with the shipstamp image: the container flow of the README,
# end to end. Not part of .ci/run (it needs root, podman and a few minutes); run it by hand:
#
#   sudo bash tests/containers/podman-build.sh
#
# On a machine that reaches Docker Hub, podman pulls the two base images. Where no image
# registry is reachable (this project's CI machines), SHIPSTAMP_LOCAL_BASE_IMAGES=1 makes
# stand-ins under the same names first: debian:bookworm-slim from debootstrap, and
# rust:1.95-slim-bookworm as that plus gcc and this machine's Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
cleanup() {
    podman rm -f shipstamp-example >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Podman's defaults raise RLIMIT_NOFILE/NPROC, which a sandbox without CAP_SYS_RESOURCE
# refuses; crun refuses hybrid cgroups, runc does not.
podman_() {
    local runtime=()
    command -v runc >/dev/null && runtime=(--runtime runc)
    podman "${runtime[@]}" "$@"
}
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4000:4000)

if [[ ${SHIPSTAMP_LOCAL_BASE_IMAGES:-} == 1 ]]; then
    root="$work/bookworm"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
    tar -C "$root" -c . | podman import - docker.io/library/debian:bookworm-slim >/dev/null
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null'
    # A TLS-intercepting proxy's CA, if this machine trusts one, for cargo inside the build.
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$root" update-ca-certificates >/dev/null
    toolchain=$(rustc --print sysroot)
    mkdir -p "$root/usr/local/rust" "$root/usr/local/cargo/bin"
    cp -a "$toolchain/bin" "$toolchain/lib" "$root/usr/local/rust/"
    for b in cargo rustc rustdoc; do ln -s "/usr/local/rust/bin/$b" "$root/usr/local/cargo/bin/$b"; done
    tar -C "$root" -c . | podman import \
        --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV CARGO_HOME=/usr/local/cargo' - docker.io/library/rust:1.95-slim-bookworm >/dev/null
fi

commit=$(git rev-parse HEAD)
dirty=$(if git diff --quiet HEAD; then echo false; else echo true; fi)
args=(--network host "${limits[@]}" --build-arg GIT_COMMIT="$commit" --build-arg GIT_DIRTY="$dirty")
podman_ build "${args[@]}" --build-arg GIT_BRANCH="$(git branch --show-current)" \
    -f examples/Dockerfile -t example-axum-service .
podman_ build "${args[@]}" -f integrations/kubernetes/Dockerfile -t shipstamp:latest .

label=$(podman image inspect example-axum-service --format '{{index .Labels "org.opencontainers.image.revision"}}')
[[ $label == "$commit" ]] || { echo "label revision $label, want $commit" >&2; exit 1; }

port=39123
podman_ run -d --name shipstamp-example --network host "${limits[@]}" \
    -e LISTEN_ADDR=127.0.0.1:$port example-axum-service >/dev/null
for _ in $(seq 50); do
    podman logs shipstamp-example 2>&1 | grep -q '^listening on' && break
    sleep 0.2
done
podman logs shipstamp-example 2>&1 | grep '^shipstamp: '

# The shipstamp image holds the served commit against this checkout, as the Job does.
want=0
[[ $dirty == true ]] && want=1
set +e
podman_ run --rm --network host "${limits[@]}" -v "$PWD:/repo:ro" \
    -e GIT_CONFIG_COUNT=1 -e GIT_CONFIG_KEY_0=safe.directory -e GIT_CONFIG_VALUE_0='*' \
    shipstamp:latest check "http://127.0.0.1:$port/version" --ref "$commit" --repo /repo
code=$?
set -e
[[ $code == "$want" ]] || { echo "check exited $code, want $want" >&2; exit 1; }

# SIGTERM (podman stop) ends the service at once, not after the 10 s grace period.
start=$(date +%s)
podman stop -t 10 shipstamp-example >/dev/null
elapsed=$(( $(date +%s) - start ))
(( elapsed < 5 )) || { echo "podman stop took ${elapsed}s: SIGTERM ignored?" >&2; exit 1; }
echo "podman-build: both images built, the service's stamp and label say $commit, check exited $code, stop took ${elapsed}s"
