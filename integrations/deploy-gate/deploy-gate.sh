#!/usr/bin/env bash
# Deploy gate: after a rollout, wait until every host serves REF, or fail the job.
#
#   REF=<commit or branch> TARGETS_FILE=deploy/targets.txt ./deploy-gate.sh
#   REF=main ./deploy-gate.sh https://orders-1.internal/version https://orders-2.internal/version
#   FIX_SHA=64b8e19 TARGETS_FILE=deploy/targets.txt ./deploy-gate.sh    # after a hotfix
#
# Environment:
#   REF            the commit the hosts must run exactly (in CI, the pushed commit)
#   FIX_SHA        instead of REF: a commit the hosts must contain (a hotfix): hosts running
#                  newer code, a release branch that cherry-picked it, or a squash merge of it
#                  pass; hosts without it fail
#   TARGETS_FILE   file of version URLs, one per line with an optional name, # comments
#   WAIT           how long the rollout may take (default 10m)
#   CONSECUTIVE    polls in a row that must all match (default 2)
#   INTERVAL       time between polls (default 5s)
#   REPO           the git checkout to resolve commits in (default .)
#   SHIPSTAMP      the shipstamp binary (default: shipstamp on PATH)
#
# Exit codes are shipstamp check's: 0 every host runs REF (or contains FIX_SHA); 1 drift (a
# host runs another commit, lacks the fix, or a dirty build, when time ran out); 2 could not
# decide (unreachable, invalid response, commit unknown here); 64 usage.
set -uo pipefail

if [[ -n "${FIX_SHA:-}" ]]; then
    asked=(--contains "$FIX_SHA")
    what="a build containing $FIX_SHA"
else
    : "${REF:?set REF to the commit the hosts must run (or FIX_SHA to a commit they must contain)}"
    asked=(--ref "$REF")
    what=$REF
fi
shipstamp=${SHIPSTAMP:-shipstamp}
args=(check "${asked[@]}" --repo "${REPO:-.}" --wait "${WAIT:-10m}" --interval "${INTERVAL:-5s}"
    --consecutive "${CONSECUTIVE:-2}")
if [[ -n "${TARGETS_FILE:-}" ]]; then
    args+=(--targets "$TARGETS_FILE")
fi
args+=("$@")

"$shipstamp" "${args[@]}"
status=$?
case $status in
    0) echo "deploy gate: every host runs $what" ;;
    1) echo "deploy gate: FAILED, drift: some host does not run $what (see above)" >&2 ;;
    2) echo "deploy gate: FAILED, could not decide for some host (unreachable, invalid response, or a commit unknown here: fetch-depth 0?)" >&2 ;;
    64) echo "deploy gate: FAILED, usage error (check REF, TARGETS_FILE and the arguments)" >&2 ;;
    *) echo "deploy gate: FAILED, shipstamp exited with $status" >&2 ;;
esac
exit "$status"
