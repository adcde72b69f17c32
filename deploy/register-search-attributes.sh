#!/usr/bin/env bash
# Makes sure leadflow's namespace and custom search attributes exist on a Temporal cluster.
#
#   register-search-attributes.sh NAME=TYPE [NAME=TYPE ...]
#
# docker-compose.yml runs it once (temporalio/admin-tools image) before any worker starts, with the
# list of attributes as arguments — the one place the stack spells them out; tests/test_deploy.py
# checks that list against workflows/search_attributes.py. Safe to run again: an attribute that
# already exists with the same type is fine, one with a different type is an error (a search
# attribute's type cannot be changed in place).
#
# Environment:
#   TEMPORAL_ADDRESS              frontend host:port                  (default temporal:7233)
#   TEMPORAL_NAMESPACE            namespace, created if missing       (default default)
#   TEMPORAL_NAMESPACE_RETENTION  retention of closed workflows when this script creates the
#                                 namespace                           (default 720h = 30 days)
#   WAIT_SECONDS                  how long to wait for the server     (default 300)
set -euo pipefail

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
wait_seconds="${WAIT_SECONDS:-300}"
deadline=$((SECONDS + wait_seconds))

log() { echo "register-search-attributes: $*"; }
die() {
    echo "register-search-attributes: error: $*" >&2
    exit 1
}
cli() { temporal "$@" --address "$address"; }

# "Keyword", "keyword", "KEYWORD", "INDEXED_VALUE_TYPE_KEYWORD", "KeywordList", "KEYWORD_LIST" → "keyword…"
normalise_type() {
    local t="${1,,}"
    t="${t#indexed_value_type_}"
    echo "${t//_/}"
}

[[ $# -gt 0 ]] || die "no search attributes given (expected NAME=TYPE arguments)"
for spec in "$@"; do
    [[ "$spec" =~ ^[A-Za-z][A-Za-z0-9_]*=(Keyword|Text|Int|Double|Bool|Datetime|KeywordList)$ ]] ||
        die "bad argument '$spec': expected NAME=TYPE, TYPE one of Keyword Text Int Double Bool Datetime KeywordList"
done

log "waiting for the Temporal frontend at $address"
until cli operator cluster health 2>/dev/null | grep -q SERVING; do
    ((SECONDS < deadline)) || die "the server at $address was not serving after ${wait_seconds}s"
    sleep 2
done

log "making sure namespace '$namespace' exists"
until cli operator namespace describe --namespace "$namespace" >/dev/null 2>&1; do
    # Another process may create it at the same moment; the describe on the next pass settles it.
    cli operator namespace create --namespace "$namespace" --retention "$retention" >/dev/null 2>&1 || true
    ((SECONDS < deadline)) || die "namespace '$namespace' could not be found or created within ${wait_seconds}s"
    sleep 2
done

# A freshly created namespace takes a moment to reach the frontend's cache.
until cli operator search-attribute list --namespace "$namespace" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "cannot list the search attributes of '$namespace'"
    sleep 2
done

for spec in "$@"; do
    name="${spec%%=*}"
    type="${spec#*=}"
    while true; do
        if output=$(cli operator search-attribute create --namespace "$namespace" --name "$name" --type "$type" 2>&1); then
            log "$name ($type): ok"
            break
        fi
        if grep -qi "different type" <<<"$output"; then
            die "$name exists with another type than $type: $output"
        fi
        if grep -qi "already exists" <<<"$output"; then
            # Registered concurrently (a worker registers the same list at start).
            log "$name ($type): already registered"
            break
        fi
        ((SECONDS < deadline)) || die "could not register $name ($type): $output"
        log "$name ($type): not yet ($output); retrying"
        sleep 2
    done
done

# Read back what the server holds. The JSON shape comes from the CLI; if it cannot be read, say so
# and rely on the per-attribute results above.
listing=$(cli operator search-attribute list --namespace "$namespace" --output json) ||
    die "cannot list the search attributes of '$namespace'"
for spec in "$@"; do
    name="${spec%%=*}"
    type="${spec#*=}"
    held=$(jq -r --arg n "$name" '(.customAttributes // .custom_attributes // {})[$n] // empty' <<<"$listing" 2>/dev/null || true)
    if [[ -z "$held" ]]; then
        log "warning: $name not found in the listing of '$namespace'"
    elif [[ "$(normalise_type "$held")" != "$(normalise_type "$type")" ]]; then
        die "$name is held as $held, expected $type"
    fi
done
log "namespace '$namespace' has all $# leadflow search attributes"
