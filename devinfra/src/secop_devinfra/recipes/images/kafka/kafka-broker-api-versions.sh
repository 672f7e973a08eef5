#!/bin/bash
# Stand-in for Kafka's tool of this name (kafka-tools is not in the broker's classpath), so the
# healthcheck in compose.yaml works unchanged: succeeds when the broker accepts connections on
# --bootstrap-server HOST:PORT.
set -eu
server=localhost:9092
while [ $# -gt 0 ]; do
  case "$1" in --bootstrap-server) server="$2"; shift 2 ;; *) shift ;; esac
done
exec 3<>"/dev/tcp/${server%:*}/${server##*:}"
