#!/bin/sh
# The build CLI with doit's command line, as MetalK8s engineers type it: ./doit.sh -n 4 iso,
# ./doit.sh list --all, ./doit.sh clean -n images (no `--`). Runs the compiled buildchain
# (bin/buildchain.js recompiles changed sources first); arguments are passed untouched.
# POSIX sh with no subshell: bash and a `cd`/`dirname` subshell cost each start ~3 ms.
case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
exec node "$here/bin/buildchain.js" "$@"
