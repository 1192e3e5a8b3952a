#!/bin/bash
# Upgrades (or, run as downgrade.sh, downgrades) a MetalK8s cluster to the version of the ISO
# this script comes from: the target ISO must be mounted (iso-manager.sh) and newer (older)
# than the running cluster. Run as root on the bootstrap node.
set -euo pipefail

MODE=upgrade
if [ "${1:-}" = "--downgrade" ]; then MODE=downgrade; shift; fi

BASE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SALTENV_PREFIX=metalk8s-
DRY_RUN=0
CURRENT=""

usage() {
    cat <<USAGE
Usage: $MODE.sh [--current-version VERSION] [--dry-run]

${MODE^}s the cluster to the version in $BASE_DIR/product.txt.
  --current-version   running version (default: read from /etc/salt/minion.d/99-metalk8s.conf)
  --dry-run           validate and print the steps without running them
USAGE
}

die() { echo "error: $*" >&2; exit 1; }
run() { echo "+ $*" >&2; if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi; }

# Compares two versions MAJOR.MINOR.PATCH[-suffix]; prints -1, 0 or 1.
compare_versions() {
    local a=${1%%-*} b=${2%%-*} i x y
    local -a av bv
    IFS=. read -r -a av <<< "$a"
    IFS=. read -r -a bv <<< "$b"
    for i in 0 1 2; do
        x=${av[$i]:-0}; y=${bv[$i]:-0}
        if [ "$x" -lt "$y" ]; then echo -1; return; fi
        if [ "$x" -gt "$y" ]; then echo 1; return; fi
    done
    if [ "$1" = "$2" ]; then echo 0; elif [ "$1" = "$a" ]; then echo 1; elif [ "$2" = "$b" ]; then echo -1; else
        if [[ "$1" > "$2" ]]; then echo 1; else echo -1; fi
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --current-version) shift; [ $# -gt 0 ] || die "--current-version needs a value"; CURRENT=$1 ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[ -f "$BASE_DIR/product.txt" ] || die "$BASE_DIR/product.txt not found: run this script from a mounted MetalK8s ISO"
TARGET=$(sed -n 's/^VERSION=//p' "$BASE_DIR/product.txt")
[ -n "$TARGET" ] || die "no VERSION in $BASE_DIR/product.txt"
if [ -z "$CURRENT" ]; then
    CURRENT=$(sed -n "s/^ *saltenv: *${SALTENV_PREFIX}//p" /etc/salt/minion.d/99-metalk8s.conf 2>/dev/null || true)
fi
[ -n "$CURRENT" ] || die "cannot tell the running version: pass --current-version"
[[ "$CURRENT" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "invalid version: $CURRENT"
ORDER=$(compare_versions "$TARGET" "$CURRENT")
if [ "$MODE" = upgrade ] && [ "$ORDER" -le 0 ]; then
    die "$TARGET is not newer than the running $CURRENT: use downgrade.sh or another ISO"
fi
if [ "$MODE" = downgrade ] && [ "$ORDER" -ge 0 ]; then
    die "$TARGET is not older than the running $CURRENT: use upgrade.sh or another ISO"
fi
[ "$DRY_RUN" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "run as root"

echo "${MODE^} MetalK8s $CURRENT -> $TARGET"
run salt-run --retcode-passthrough saltutil.sync_all saltenv="${SALTENV_PREFIX}$TARGET"
run salt-run --retcode-passthrough state.orchestrate "metalk8s.orchestrate.$MODE" \
    saltenv="${SALTENV_PREFIX}$TARGET" pillar="{'metalk8s': {'previous_version': '$CURRENT'}}"
