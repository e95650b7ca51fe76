#!/usr/bin/env bash
# Installs the Debian packages Gregor needs to build and test, when missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config libevent-dev libssl-dev libzstd-dev libsnappy-dev
  check libedit-dev zlib1g-dev liblz4-dev libjansson-dev libmd-dev"
TEST_PKGS="clang zookeeper zookeeper-bin python3-kazoo python3-pytest python3-kafka
  python3-confluent-kafka kcat librdkafka-dev netcat-openbsd valgrind procps"

missing=()
for p in $BUILD_PKGS $TEST_PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages. Run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/gregor-deps.log 2>&1; then
    apt-get update >>/tmp/gregor-deps.log 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/gregor-deps.log 2>&1 || {
        echo "deps: apt-get failed, see /tmp/gregor-deps.log" >&2; exit 1; }
fi
