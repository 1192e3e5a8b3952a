#!/bin/bash
# Downgrades a MetalK8s cluster to the version of the ISO this script comes from: the target
# ISO must be mounted (iso-manager.sh) and older than the running cluster. Run as root on the
# bootstrap node. The steps are upgrade.sh's, run in the other direction.
set -euo pipefail

exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/upgrade.sh" --downgrade "$@"
