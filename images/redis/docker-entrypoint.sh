#!/bin/sh
# As the official redis image's entrypoint.
set -e

# `docker run redis --save 60 1` or `docker run redis /path/redis.conf`: options for redis-server.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

# As root: give /data to redis, then run as redis.
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# The official image builds redis with protected mode off by default (a container's
# port is reached from other containers, not from localhost); Debian's binary has it
# on, so without a config file we turn it off here. A config file still decides.
if [ "$1" = 'redis-server' ] && [ "${2%.conf}" = "${2:-}" ]; then
	case " $* " in
		*" --protected-mode "*) ;;
		*) set -- "$@" --protected-mode no ;;
	esac
fi

# A private umask for the data files, unless one was chosen.
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
