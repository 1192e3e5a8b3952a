#!/usr/bin/env bash
# The build CLI with doit's command line, as MetalK8s engineers type it: ./doit.sh -n 4 iso,
# ./doit.sh list --all, ./doit.sh clean -n images (no `--`). Runs the compiled buildchain
# (bin/buildchain.js recompiles changed sources first); arguments are passed untouched.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/bin/buildchain.js" "$@"
