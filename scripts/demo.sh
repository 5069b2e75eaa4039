#!/usr/bin/env bash
# make demo: roster drops end to end on the local stack (moto, the ingest bootstrap under the
# Lambda host, the SQS poller). Starts the stack, registers a district, uploads a generated
# export, uploads it again unchanged, uploads a version with 20% of students removed, prints
# the three import summaries and where the reports are, and stops the stack.
set -euo pipefail
students=${1:-2000}
cd "$(dirname "$0")/.."
pthv=bin/pthv
state=.pthv-local-demo
work=$(mktemp -d)
cleanup() {
  $pthv local down --state "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "starting the local stack (moto_server, resources, ingest function, queue poller)"
$pthv local up --state "$state" --functions bin/local/functions
# shellcheck disable=SC1091
source "$state/env"

step "registering the demo district"
$pthv districts add --id demo-usd --name "Demo Unified School District" --state CA

step "generating a district export of $students students"
$pthv gen roster --students "$students" --seed 1 --zip --out "$work/export.zip"
$pthv gen roster --students "$students" --seed 1 --remove 0.2 --zip --out "$work/export-fewer.zip"

step "1. uploading the export: the ingest function imports it"
$pthv upload "$work/export.zip" --district demo-usd --name export.zip --wait

step "2. uploading the same export again: nothing changes, zero writes"
$pthv upload "$work/export.zip" --district demo-usd --name export.zip --wait

step "3. uploading a version with 20% of students removed: held for approval, nothing applied"
$pthv upload "$work/export-fewer.zip" --district demo-usd --name export.zip --wait

step "the district's imports"
$pthv imports list --district demo-usd
printf '\nReports are JSON in s3://%s/reports/demo-usd/imports/ (the report key of each import is above).\n' "$REPORTS_BUCKET"
printf 'A held import is applied with: pthv imports approve IMPORT_ID --district demo-usd\n'

step "stopping the local stack"
