#!/bin/sh
# As the official docker:cli image's entrypoint.
set -eu

# `docker run docker:cli --version` or `docker run docker:cli ps`: arguments for docker.
if [ "${1#-}" != "$1" ] || docker help "$1" >/dev/null 2>&1; then
	set -- docker "$@"
fi

# Client certificates from a dind container's shared /certs volume, when there are any.
tls_certs() {
	[ -n "${DOCKER_TLS_CERTDIR:-}" ] &&
		[ -s "$DOCKER_TLS_CERTDIR/client/ca.pem" ] &&
		[ -s "$DOCKER_TLS_CERTDIR/client/cert.pem" ] &&
		[ -s "$DOCKER_TLS_CERTDIR/client/key.pem" ]
}

# No DOCKER_HOST: the mounted socket (standard, then rootless), else a daemon named "docker".
if [ -z "${DOCKER_HOST:-}" ]; then
	rootless_sock="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/docker.sock"
	if [ -S /var/run/docker.sock ]; then
		export DOCKER_HOST=unix:///var/run/docker.sock
	elif [ -S "$rootless_sock" ]; then
		export DOCKER_HOST="unix://$rootless_sock"
	elif tls_certs || [ -n "${DOCKER_TLS_VERIFY:-}" ]; then
		export DOCKER_HOST=tcp://docker:2376
	else
		export DOCKER_HOST=tcp://docker:2375
	fi
fi
if tls_certs; then
	export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$DOCKER_TLS_CERTDIR/client"
fi

if [ "$1" = dockerd ]; then
	echo 'This image has no Docker daemon: it is the docker:cli image. Upstream runs one in the "dind" variant (docker run --privileged docker:dind), which Berth'"'"'s catalog does not have.' >&2
	exit 1
fi

exec "$@"
