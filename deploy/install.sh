#!/usr/bin/env bash
# Install or upgrade the meterkit gateway on a Debian/Ubuntu mini-PC (idempotent).
#
#   sudo deploy/install.sh                 install from this checkout, enable the service
#   sudo deploy/install.sh --start         ... and (re)start it
#   deploy/install.sh --dry-run            print what would be done, change nothing
#   sudo deploy/install.sh --source /path/meterkit-0.1.0-py3-none-any.whl
#
# Creates the system user `meterkit` (in group dialout: it provisions boards over USB),
# /opt/meterkit/venv (the package; `meterkit` linked into /usr/local/bin), /etc/meterkit
# (gateway.toml from the example; the gateway secret; the bundle key pair and installers.pub
# for offline provisioning; none ever overwritten), /var/lib/meterkit (database, status.json)
# and the systemd unit. Running it again upgrades the package and the unit and leaves config,
# keys and data alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(dirname "$HERE")"
DRY_RUN=0
START=0
USER_NAME=meterkit
PREFIX=/opt/meterkit
ETC=/etc/meterkit
STATE=/var/lib/meterkit
UNIT_DIR=/etc/systemd/system

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --start) START=1 ;;
    --source) SOURCE="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would run:'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}
say() { echo "== $*"; }

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo), or with --dry-run to see the steps" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: this script is for Debian/Ubuntu (apt-get not found)" >&2
  exit 1
fi

say "packages: python3, python3-venv"
if ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi

say "system user $USER_NAME"
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  run adduser --system --group --home "$STATE" --no-create-home \
      --shell /usr/sbin/nologin "$USER_NAME"
fi

# Provisioning on the gateway host runs as this user (it owns the database) and opens
# /dev/ttyUSB*, which belong to group dialout.
if ! id -nG "$USER_NAME" 2>/dev/null | tr ' ' '\n' | grep -qx dialout; then
  run usermod -a -G dialout "$USER_NAME"
fi

say "directories"
run install -d -o root -g root -m 0755 "$PREFIX" "$PREFIX/docs"
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0750 "$STATE"
run install -d -o root -g "$USER_NAME" -m 0750 "$ETC"

say "virtual environment $PREFIX/venv with meterkit from $SOURCE"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  run python3 -m venv "$PREFIX/venv"
fi
run "$PREFIX/venv/bin/pip" install --quiet --upgrade pip
run "$PREFIX/venv/bin/pip" install --quiet --upgrade "$SOURCE"
# On PATH for people (`meterkit ...`); a meterkit already there from elsewhere is left alone.
if [ ! -e /usr/local/bin/meterkit ] || \
   [ "$(readlink /usr/local/bin/meterkit 2>/dev/null)" = "$PREFIX/venv/bin/meterkit" ]; then
  run ln -sfn "$PREFIX/venv/bin/meterkit" /usr/local/bin/meterkit
else
  echo "install.sh: /usr/local/bin/meterkit is not ours: use $PREFIX/venv/bin/meterkit" >&2
fi
for doc in GATEWAY.md INSTALLER.md; do
  if [ -f "$SOURCE/docs/$doc" ]; then
    run install -o root -g root -m 0644 "$SOURCE/docs/$doc" "$PREFIX/docs/$doc"
  fi
done

say "config $ETC/gateway.toml (kept if present)"
if [ ! -f "$ETC/gateway.toml" ]; then
  run install -o root -g "$USER_NAME" -m 0640 "$HERE/gateway.example.toml" "$ETC/gateway.toml"
  NEW_CONFIG=1
else
  NEW_CONFIG=0
fi

say "gateway secret $ETC/gateway.secret (kept if present)"
if [ ! -f "$ETC/gateway.secret" ]; then
  # Created by the gateway's own code (32 random bytes, mode 0600), then given to the service
  # user: the unit keeps /etc/meterkit read-only, so the service cannot create it itself.
  run "$PREFIX/venv/bin/python" -c \
      "from gateway.store.keybox import KeyBox; KeyBox.load_or_create('$ETC/gateway.secret')"
  run chown "$USER_NAME:$USER_NAME" "$ETC/gateway.secret"
  run chmod 0600 "$ETC/gateway.secret"
fi

say "bundle key pair $ETC/bundle.key, bundle.pub and $ETC/installers.pub (kept if present)"
# Offline provisioning: installers seal bundles to bundle.pub; the import (run as the service
# user) opens them with bundle.key and trusts the installer keys listed in installers.pub.
# Created as root, because only root writes in $ETC, then handed to the service user.
if [ ! -f "$ETC/bundle.key" ]; then
  run "$PREFIX/venv/bin/meterkit" provision keys gateway --dir "$ETC"
  run chown "$USER_NAME:$USER_NAME" "$ETC/bundle.key"
  run chmod 0600 "$ETC/bundle.key"
  run chown "root:$USER_NAME" "$ETC/bundle.pub"
  run chmod 0644 "$ETC/bundle.pub"
fi
if [ ! -f "$ETC/installers.pub" ]; then
  run install -o root -g "$USER_NAME" -m 0640 /dev/null "$ETC/installers.pub"
fi

say "systemd unit"
if ! cmp -s "$HERE/meterkit-gateway.service" "$UNIT_DIR/meterkit-gateway.service" 2>/dev/null; then
  run install -o root -g root -m 0644 "$HERE/meterkit-gateway.service" \
      "$UNIT_DIR/meterkit-gateway.service"
  run systemctl daemon-reload
fi
run systemctl enable meterkit-gateway.service

if [ "$START" = 1 ]; then
  say "checking the config and (re)starting"
  run runuser -u "$USER_NAME" -- "$PREFIX/venv/bin/meterkit" gateway check-config \
      --config "$ETC/gateway.toml"
  run systemctl restart meterkit-gateway.service
fi

cat <<EOF

Done.$([ "$DRY_RUN" = 1 ] && echo " (dry run: nothing was changed)")
Next steps (\`meterkit\` is $PREFIX/venv/bin/meterkit, linked as /usr/local/bin/meterkit):
  $([ "${NEW_CONFIG:-0}" = 1 ] && echo "edit $ETC/gateway.toml (site, municipality, [mqtt]) then")
  sudo -u $USER_NAME meterkit gateway check-config --config $ETC/gateway.toml
  sudo systemctl restart meterkit-gateway
  provision boards here: sudo -u $USER_NAME meterkit provision device --port /dev/ttyUSB0 \\
      --gateway-config $ETC/gateway.toml ... (docs/INSTALLER.md)
  offline installers: give them $ETC/bundle.pub; append their installer.pub to
      $ETC/installers.pub (as root)
  meterkit gateway status --config $ETC/gateway.toml
  journalctl -u meterkit-gateway -f
EOF
