#!/usr/bin/env bash
# Enforces the dependency direction: common <- proto <- coord <- broker.
# broker may include from coord only the ZooKeeper client library (coord/zkc.h).
set -u
cd "$(dirname "$0")/../.."
bad=0
check() { # dir forbidden-regex
    local hits
    hits=$(grep -rnE "#include \"($2)/" "$1" --include='*.[ch]' 2>/dev/null || true)
    if [[ -n "$hits" ]]; then echo "deps-check: $1 must not include $2:"; echo "$hits"; bad=1; fi
}
check common 'proto|coord|broker'
check proto 'coord|broker'
check coord 'broker'
hits=$(grep -rnE '#include "coord/' broker --include='*.[ch]' 2>/dev/null | grep -vE '"coord/(zkc|shell/[a-z_]+)\.h"' || true)
if [[ -n "$hits" ]]; then echo "deps-check: broker may include only coord/zkc.h:"; echo "$hits"; bad=1; fi
# Pure cores must not touch I/O or the clock.
for f in coord/datatree.c coord/prep.c coord/zab.c coord/acl.c; do
    [[ -f $f ]] || continue
    if grep -nE '#include <(event2/|sys/socket|unistd|fcntl)|clock_gettime|gettimeofday|\btime\(' "$f"; then
        echo "deps-check: $f is a pure core and must not do I/O or read the clock"; bad=1
    fi
done
[[ $bad -eq 0 ]] && echo "deps-check: ok"
exit $bad
