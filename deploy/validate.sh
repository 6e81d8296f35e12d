#!/usr/bin/env bash
# Validates deploy/k8s/*.yaml against the Kubernetes API types, offline.
#
# kubeconform would fetch its JSON schemas from GitHub, which this project's
# machines and CI cannot reach (only the Go module proxy, Debian and npm).
# Instead deploy/validate is a small Go module whose test decodes every
# manifest strictly into the k8s.io/api types (the source those schemas are
# generated from) plus KEDA's ScaledObject/TriggerAuthentication fields, and
# checks the operational invariants (grace period > shutdown timeout, probes,
# non-root, secrets by reference, KEDA list names = asynq pending keys, a
# dashboard beyond loopback has a login from the Secret or --insecure-no-login,
# in deploy/k8s and in docker-compose.yml).
# Its own module keeps k8s.io/api out of the worker's go.mod.
#
# Usage: deploy/validate.sh        (from anywhere; make validate-deploy)
set -euo pipefail
cd "$(dirname "$0")/validate"
go test -count=1 ./...
