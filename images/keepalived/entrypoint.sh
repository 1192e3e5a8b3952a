#!/bin/sh
# Runs keepalived in the foreground with the configuration mounted by Salt.
set -eu
exec /usr/sbin/keepalived --use-file=/etc/keepalived/keepalived.conf "$@"
