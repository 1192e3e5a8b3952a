#!/bin/bash
# Adds or removes Solution ISOs in /etc/metalk8s/solutions.yaml (SolutionsConfiguration),
# then applies the "import solutions" Salt orchestration. Run as root on the bootstrap node.
# The archives are listed under `archives:`, the key MetalK8s 2.4's Salt reads (its docs show
# `solutions:`, which 2.4 ignores); a file written with `solutions:` is rewritten with `archives:`.
set -euo pipefail

SOLUTIONS_CONFIG=${SOLUTIONS_CONFIG:-/etc/metalk8s/solutions.yaml}
BASE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DRY_RUN=0
ADD=()
DEL=()

usage() {
    cat <<USAGE
Usage: $(basename "$0") [-a|--add ISO]... [-d|--del ISO]... [--dry-run]

  -a, --add ISO   declare the Solution ISO in $SOLUTIONS_CONFIG and import it
  -d, --del ISO   remove it from $SOLUTIONS_CONFIG (its images and UI are removed)
  --dry-run       validate and print what would change
USAGE
}

die() { echo "error: $*" >&2; exit 1; }
run() { echo "+ $*" >&2; if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        -a|--add) shift; [ $# -gt 0 ] || die "--add needs an ISO path"; ADD+=("$1") ;;
        -d|--del) shift; [ $# -gt 0 ] || die "--del needs an ISO path"; DEL+=("$1") ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done
[ $((${#ADD[@]} + ${#DEL[@]})) -gt 0 ] || { usage >&2; die "nothing to do: give --add or --del"; }

current=()
if [ -f "$SOLUTIONS_CONFIG" ]; then
    mapfile -t current < <(sed -n '/^\(archives\|solutions\):/,/^[^ -]/s/^ *- *//p' "$SOLUTIONS_CONFIG")
fi

for iso in "${ADD[@]}"; do
    case "$iso" in /*) ;; *) die "$iso: give an absolute path" ;; esac
    # Listed as a plain YAML scalar: nothing YAML or a line break would read differently.
    case "$iso" in *[!A-Za-z0-9._+,@=~/-]*) die "$iso: the path holds characters other than letters, digits and ._+,@=~/- (the SolutionsConfiguration lists it as it is): rename or move the ISO" ;; esac
    [ -f "$iso" ] || die "Solution ISO $iso not found"
    if command -v isoinfo > /dev/null; then
        isoinfo -d -i "$iso" > /dev/null 2>&1 || die "$iso is not an ISO 9660 image"
    fi
    printf '%s\n' "${current[@]}" | grep -qxF "$iso" || current+=("$iso")
done
for iso in "${DEL[@]}"; do
    printf '%s\n' "${current[@]}" | grep -qxF "$iso" || die "$iso is not declared in $SOLUTIONS_CONFIG"
    kept=()
    for c in "${current[@]}"; do [ "$c" = "$iso" ] || kept+=("$c"); done
    current=("${kept[@]}")
done

new_config() {
    echo "apiVersion: metalk8s.scality.com/v1alpha1"
    echo "kind: SolutionsConfiguration"
    if [ "${#current[@]}" -eq 0 ]; then echo "archives: []"; return; fi
    echo "archives:"
    for c in "${current[@]}"; do echo "  - $c"; done
}

echo "+ write $SOLUTIONS_CONFIG:" >&2
new_config | sed 's/^/    /' >&2
if [ "$DRY_RUN" -eq 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "run as root"
    mkdir -p "$(dirname "$SOLUTIONS_CONFIG")"
    new_config > "$SOLUTIONS_CONFIG.tmp"
    mv "$SOLUTIONS_CONFIG.tmp" "$SOLUTIONS_CONFIG"
fi
SALTENV=$(sed -n 's/^VERSION=/metalk8s-/p' "$BASE_DIR/product.txt" 2>/dev/null || true)
run salt-run --retcode-passthrough state.orchestrate metalk8s.orchestrate.solutions saltenv="${SALTENV:-metalk8s}"
