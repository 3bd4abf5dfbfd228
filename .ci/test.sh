#!/usr/bin/env bash
# Fenrir's test command: sets up the real components the integration tests talk to, then
# runs every test of the workspace with cargo-nextest.
#
#   bash .ci/test.sh                      # everything
#   bash .ci/test.sh --test s3            # extra arguments go to `cargo nextest run`
#
# Idempotent: the Python venv (moto[server], python-logging-loki) lives in .ci-work/venv
# and the Node client (winston, winston-loki) in tests/clients/node/node_modules; both are
# only (re)installed when missing or outdated. moto is started on 127.0.0.1 with a free
# port and stopped by PID when the script exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
WORK=$ROOT/.ci-work
VENV=$WORK/venv
PY_PKGS=("moto[server]==5.2.5" "python-logging-loki==0.3.1")
mkdir -p "$WORK"

log() { printf '[test.sh] %s\n' "$*" >&2; }

# apt packages the tests need, installed only when missing
apt_install() {
    local SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
# tzdata: line_format's toDateInZone loads named zones from /usr/share/zoneinfo, as Go does
if [[ ! -f /usr/share/zoneinfo/Europe/Paris ]]; then
    log "installing tzdata"
    DEBIAN_FRONTEND=noninteractive apt_install tzdata
fi
# node + npm: the winston-loki client test
if ! command -v npm >/dev/null; then
    log "installing nodejs and npm"
    apt_install nodejs npm
fi

# --- Python: moto (S3) and python-logging-loki ---------------------------------------
py_stamp=$WORK/venv.stamp
if [[ ! -x $VENV/bin/python || ! -f $py_stamp || "$(cat "$py_stamp")" != "${PY_PKGS[*]}" ]]; then
    log "creating Python venv in $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        # Debian ships venv/ensurepip separately
        log "python3 -m venv failed; installing python3-venv with apt-get"
        rm -rf "$VENV"
        apt_install python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PKGS[@]}"
    printf '%s' "${PY_PKGS[*]}" > "$py_stamp"
fi

# --- Node: winston + winston-loki ------------------------------------------------------
NODE_DIR=$ROOT/tests/clients/node
node --version >/dev/null
if [[ ! -d $NODE_DIR/node_modules/winston-loki || $NODE_DIR/package-lock.json -nt $NODE_DIR/node_modules/.package-lock.json ]]; then
    log "installing winston-loki in $NODE_DIR"
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error
fi

# --- moto S3 server on a free port -----------------------------------------------------
MOTO_PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; }
trap cleanup EXIT
S3_BUCKET=fenrir-ci
# wait for moto, then create the shared bucket (storage's suite expects it to exist;
# the fenrir s3 test creates its own)
"$VENV/bin/python" - "$MOTO_PORT" "$S3_BUCKET" <<'PY'
import sys, time, urllib.request
url = "http://127.0.0.1:%s/" % sys.argv[1]
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(url, timeout=2)
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("moto did not start on " + url)
        time.sleep(0.2)
urllib.request.urlopen(urllib.request.Request(url + sys.argv[2], method="PUT"), timeout=10)
PY
log "moto (pid $MOTO_PID) listening on 127.0.0.1:$MOTO_PORT, bucket $S3_BUCKET"

export FENRIR_TEST_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export FENRIR_TEST_S3_BUCKET=$S3_BUCKET
export FENRIR_TEST_S3_ACCESS_KEY=test
export FENRIR_TEST_S3_SECRET_KEY=testsecret
export FENRIR_TEST_S3_REGION=us-east-1
# S3 tests must run in CI, never skip
export FENRIR_REQUIRE_S3=1
export FENRIR_TEST_PYTHON=$VENV/bin/python

cargo nextest run --workspace --no-fail-fast "$@"
