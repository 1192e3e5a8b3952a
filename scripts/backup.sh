#!/bin/bash
# Backs up what a MetalK8s bootstrap node cannot rebuild (PKI, configuration, Salt keys) into
# a gzip tar archive, for restore.sh. Run as root on the bootstrap node.
set -euo pipefail

BACKUP_DIR=${BACKUP_DIR:-/var/lib/metalk8s/backups}
DRY_RUN=0
PATHS=(etc/kubernetes/pki etc/metalk8s etc/salt)

usage() {
    cat <<USAGE
Usage: $(basename "$0") [--backup-dir DIR] [--dry-run]

Writes DIR/backup_<UTC date>.tar.gz (default DIR: $BACKUP_DIR) with: ${PATHS[*]}
USAGE
}

die() { echo "error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        -d|--backup-dir) shift; [ $# -gt 0 ] || die "--backup-dir needs a value"; BACKUP_DIR=$1 ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

ARCHIVE="$BACKUP_DIR/backup_$(date -u +%Y%m%d_%H%M%S).tar.gz"
missing=()
for p in "${PATHS[@]}"; do [ -e "/$p" ] || missing+=("/$p"); done
if [ "${#missing[@]}" -gt 0 ] && [ "$DRY_RUN" -eq 0 ]; then
    die "not a MetalK8s bootstrap node, missing: ${missing[*]}"
fi
echo "+ tar -czf $ARCHIVE -C / ${PATHS[*]}" >&2
if [ "$DRY_RUN" -eq 1 ]; then exit 0; fi
[ "$(id -u)" -eq 0 ] || die "run as root"
mkdir -p "$BACKUP_DIR"
tar -czf "$ARCHIVE.tmp" -C / "${PATHS[@]}"
mv "$ARCHIVE.tmp" "$ARCHIVE"
echo "Backup written to $ARCHIVE"
