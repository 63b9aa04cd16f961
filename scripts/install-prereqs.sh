#!/usr/bin/env bash
# Idempotent prerequisite installer for Debian/Ubuntu hosts (run as root).
# Installs what Berth needs and is missing: Node >= 22.12 (Node 24 from the npm
# registry when the system Node is older), the Docker engine (started in the
# background when no init system runs it), mmdebstrap (to build the base image
# without a registry) and, with --with-chromium, Chromium for the browser tests.
set -euo pipefail

with_chromium=0
for arg in "$@"; do
  case "$arg" in
    --with-chromium) with_chromium=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[prereqs]\033[0m %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "install-prereqs.sh must run as root (it uses apt-get and starts dockerd)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Node.js -----------------------------------------------------------------
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! node_ok; then
  if [ ! -x /opt/node24/node_modules/.bin/node ]; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    log "installing Node 24 into /opt/node24 (system Node is older than 22.12)"
    npm install --silent --no-audit --no-fund --prefix /opt/node24 node@24 >/dev/null
  fi
  ln -sf /opt/node24/node_modules/.bin/node /usr/local/bin/node
  hash -r
  # npm itself runs fine on the newer node through its own shebang (#!/usr/bin/env node).
fi
log "node $(node --version)"

# --- Docker engine -------------------------------------------------------------
apt_install ca-certificates iptables mmdebstrap
if ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

# Sandboxes get /dev/net/tun (slirp4netns, the rootless engine's network) with the
# host's mode; udev normally makes it 0666, hosts without udev leave it 0600.
if [ ! -c /dev/net/tun ]; then
  mkdir -p /dev/net && mknod /dev/net/tun c 10 200
fi
chmod 666 /dev/net/tun

# Kernel-wide tables one sandbox could otherwise exhaust for everyone: a sandbox's
# memory limit bounds its open files (~230 B each: millions), more than a default
# fs.file-max; and pids limits x sandboxes can exceed kernel.pid_max. systemd raises
# both at boot; hosts without it keep the small defaults. (Skipped where read-only.)
raise_sysctl() { # name minimum
  local cur
  cur=$(sysctl -n "$1" 2>/dev/null) || return 0
  [ "$cur" -ge "$2" ] 2>/dev/null && return 0
  sysctl -qw "$1=$2" 2>/dev/null && log "raised $1 from $cur to $2" || log "warning: could not raise $1 (now $cur)"
}
raise_sysctl fs.file-max 9223372036854775807
raise_sysctl kernel.pid_max 4194304

# Kernel surface hardened distributions close by default, for everything on the host:
# no eBPF for unprivileged users (2: root may turn it back on), no perf events for them
# where the kernel knows 3 (Debian's and Android's; elsewhere 3 acts as 2, the kernel's
# own strictest), and ptrace only of one's own descendants (Yama), so a learner cannot
# trace their sandbox's engine. Sandboxes' seccomp refuses bpf and perf_event_open
# anyway (README, threat model). A stricter value is kept; kept across reboots in
# /etc/sysctl.d/60-berth.conf; skipped where read-only or absent.
harden_sysctl() { # name value strict-values...
  local name=$1 value=$2 cur ok
  shift 2
  cur=$(sysctl -n "$name" 2>/dev/null) || return 0
  for ok in "$@"; do [ "$cur" = "$ok" ] && return 0; done
  if sysctl -qw "$name=$value" 2>/dev/null; then
    log "set $name from $cur to $value"
    if [ -d /etc/sysctl.d ]; then
      touch /etc/sysctl.d/60-berth.conf
      sed -i "/^$name *=/d" /etc/sysctl.d/60-berth.conf
      echo "$name = $value" >> /etc/sysctl.d/60-berth.conf
    fi
  else
    log "warning: could not set $name to $value (now $cur)"
  fi
}
harden_sysctl kernel.unprivileged_bpf_disabled 2 1 2
harden_sysctl kernel.perf_event_paranoid 3 3 4
harden_sysctl kernel.yama.ptrace_scope 1 1 2 3

# --- Chromium for the browser tests -------------------------------------------
if [ $with_chromium -eq 1 ]; then
  apt_install chromium fonts-noto-cjk
  log "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"
fi
log "ready"
