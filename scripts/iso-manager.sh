#!/bin/bash
# Makes MetalK8s ISOs available to the cluster: mounts each archive of the bootstrap
# configuration under /srv/scality/metalk8s-<VERSION> (read-only, persisted in /etc/fstab)
# and checks its product.txt. Run as root on the bootstrap node.
set -euo pipefail

BOOTSTRAP_CONFIG=${BOOTSTRAP_CONFIG:-/etc/metalk8s/bootstrap.yaml}
MOUNT_ROOT=${MOUNT_ROOT:-/srv/scality}
DRY_RUN=0
ARCHIVES=()

usage() {
    cat <<USAGE
Usage: $(basename "$0") [-a|--archive ISO]... [--dry-run]

Mounts the given ISOs (default: the 'archives' list of $BOOTSTRAP_CONFIG) under
$MOUNT_ROOT/<name>-<version>.
USAGE
}

die() { echo "error: $*" >&2; exit 1; }
run() { echo "+ $*" >&2; if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        -a|--archive) shift; [ $# -gt 0 ] || die "--archive needs a value"; ARCHIVES+=("$1") ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

if [ "${#ARCHIVES[@]}" -eq 0 ]; then
    [ -f "$BOOTSTRAP_CONFIG" ] || die "$BOOTSTRAP_CONFIG not found and no --archive given"
    mapfile -t ARCHIVES < <(sed -n '/^archives:/,/^[^ -]/s/^ *- *//p' "$BOOTSTRAP_CONFIG")
fi
[ "${#ARCHIVES[@]}" -gt 0 ] || die "no archive to mount"
command -v isoinfo > /dev/null || die "isoinfo not found (install genisoimage)"

for iso in "${ARCHIVES[@]}"; do
    [ -f "$iso" ] || die "archive $iso not found"
    product=$(isoinfo -i "$iso" -x '/PRODUCT.TXT;1') || die "$iso is not an ISO 9660 image"
    name=$(sed -n 's/^NAME=//p' <<< "$product")
    version=$(sed -n 's/^VERSION=//p' <<< "$product")
    if [ -z "$name" ] || [ -z "$version" ]; then die "$iso has no NAME/VERSION in product.txt"; fi
    target="$MOUNT_ROOT/${name,,}-$version"
    echo "$iso: $name $version -> $target"
    if [ "$DRY_RUN" -eq 0 ] && mountpoint -q "$target"; then continue; fi
    run mkdir -p "$target"
    run mount -o ro,loop -t iso9660 "$iso" "$target"
    if ! grep -qs " $target iso9660 " /etc/fstab; then
        echo "+ append '$iso $target iso9660 ro,loop 0 0' to /etc/fstab" >&2
        if [ "$DRY_RUN" -eq 0 ]; then echo "$iso $target iso9660 ro,loop 0 0" >> /etc/fstab; fi
    fi
done
