#!/bin/sh
# Checks the Dockerfile where a Docker daemon runs but no registry can be
# reached (how it was checked where Klaxon is developed): the two pinned
# bases are replaced by local stand-ins, everything else is the Dockerfile
# as it is. The build stage's stand-in is this machine's Go toolchain with
# busybox for RUN's shell; the runtime's is a scratch image laid out like
# distroless static's nonroot variant (/etc/passwd with nonroot 65532, /tmp,
# CA certificates, no shell). `go mod download` still needs the Go module
# proxy. Not part of .ci/run (CI need not have a daemon).
#
#   .ci/docker-standin.sh            # build klaxon:standin, run `klaxon demo` in it
#
# Needs: docker (a running daemon, DOCKER_HOST honoured), busybox (static),
# go on the PATH. With registry access, build the real image instead:
#   docker build -t klaxon . && docker run --rm klaxon demo
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
goroot=$(go env GOROOT)

mkdir -p "$work/go/bin" "$work/go/tmp" "$work/go/etc/ssl/certs" "$work/go/usr/local"
cp "$(command -v busybox)" "$work/go/bin/busybox"
for c in sh mkdir; do ln -s busybox "$work/go/bin/$c"; done
cp -a "$goroot" "$work/go/usr/local/go"
cp /etc/ssl/certs/ca-certificates.crt "$work/go/etc/ssl/certs/"
chmod 1777 "$work/go/tmp"
tar -C "$work/go" -c . | docker import \
	--change 'ENV PATH=/usr/local/go/bin:/go/bin:/bin' --change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' \
	- klaxon-standin/golang >/dev/null

mkdir -p "$work/rt/etc/ssl/certs" "$work/rt/tmp" "$work/rt/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/rt/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$work/rt/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$work/rt/etc/ssl/certs/"
chmod 1777 "$work/rt/tmp"
tar -C "$work/rt" --owner=0 --group=0 -c . | docker import \
	--change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' - klaxon-standin/distroless >/dev/null

sed -e 's|^FROM golang:[^ ]* AS build$|FROM klaxon-standin/golang AS build|' \
	-e 's|^FROM gcr.io/distroless/static-debian12:nonroot@[^ ]*$|FROM klaxon-standin/distroless|' \
	Dockerfile >"$work/Dockerfile"
if [ "$(grep -c '^FROM klaxon-standin/' "$work/Dockerfile")" != 2 ]; then
	echo "docker-standin: the Dockerfile's FROM lines changed; update this script" >&2
	exit 1
fi
docker build -f "$work/Dockerfile" -t klaxon:standin .
docker run --rm klaxon:standin demo >"$work/demo.out"
grep -q 'Status: closed' "$work/demo.out"
grep -q 'acknowledged the page in PagerDuty' "$work/demo.out"
echo "docker-standin: klaxon:standin built; klaxon demo ran in it ($(wc -l <"$work/demo.out") lines of transcript)"
