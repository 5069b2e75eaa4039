#!/usr/bin/env bash
# make demo: the main job end to end on the local stack (moto, the ingest and cohort
# bootstraps under the Lambda host, the SQS poller). Starts the stack, registers a district,
# uploads a generated export, uploads it again unchanged, uploads a version with 20% of
# students removed (held), then drops a training file, opts educators in, draws a
# cross-section cohort for one school and an 'all' cohort for another, records a family
# declining and refreshes the cohort, verifies it, logs visits, reads reach, runs a nightly SIS
# sync from the OneRoster stand-in (held first run, approval, an unchanged delta, a held fault
# run), and stops the stack.
set -euo pipefail
students=${1:-2000}
cd "$(dirname "$0")/.."
pthv=bin/pthv
state=.pthv-local-demo
work=$(mktemp -d)
keep=${DEMO_KEEP:-0} # DEMO_KEEP=1: leave the local stack running at the end (for the dashboard)
cleanup() {
  if [ "$keep" != 1 ]; then $pthv local down --state "$state" >/dev/null 2>&1 || true; fi
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
# The current school year (1 July - 30 June): the export describes it.
y=$(date -u +%Y); m=$(date -u +%-m)
if [ "$m" -lt 7 ]; then y=$((y - 1)); fi
year="$y-$((y + 1))"
$pthv gen roster --students "$students" --seed 1 --school-year $((y + 1)) --zip --out "$work/export.zip"
$pthv gen roster --students "$students" --seed 1 --school-year $((y + 1)) --out "$work/export"
$pthv gen roster --students "$students" --seed 1 --school-year $((y + 1)) --remove 0.2 --zip --out "$work/export-fewer.zip"

step "1. uploading the export: the ingest function imports it"
$pthv upload "$work/export.zip" --district demo-usd --name export.zip --wait

step "2. uploading the same export again: nothing changes, zero writes"
$pthv upload "$work/export.zip" --district demo-usd --name export.zip --wait

step "3. uploading a version with 20% of students removed: held for approval, nothing applied"
# --wait exits 1 for a held import (nothing applied yet): expected here.
if $pthv upload "$work/export-fewer.zip" --district demo-usd --name export.zip --wait; then
  echo "the removal was not held" >&2; exit 1
fi

step "the district's imports"
$pthv imports list --district demo-usd
printf '\nReports are JSON in s3://%s/reports/demo-usd/imports/ (the report key of each import is above).\n' "$REPORTS_BUCKET"
printf 'A held import is applied with: pthv imports approve IMPORT_ID --district demo-usd\n'

schools=$(awk -F, '$5 == "school" { print $1 }' "$work/export/orgs.csv")
school_a=$(echo "$schools" | sed -n 1p)
school_b=$(echo "$schools" | sed -n 2p)

step "4. dropping a training file: half of each school's teachers trained and opted in for $year"
$pthv gen trainings --roster "$work/export" --share 0.5 --date "$y-08-20" --out "$work/trainings.csv"
$pthv upload "$work/trainings.csv" --kind trainings --district demo-usd --wait

step "5. one more educator opts in by hand (not trained yet, so not paired)"
teacher=$(awk -F, 'NR == FNR { trained[$1] = 1; next } $6 == "teacher" && $9 == "'"$school_a"'" && !trained[$4] { print $4; exit }' "$work/trainings.csv" "$work/export/roles.csv")
$pthv educators opt-in --district demo-usd --educator "$teacher" --year "$year"

step "6. a random cross-section (10% of students, by grade, across homerooms) for $school_a"
out=$($pthv cohort select --district demo-usd --school "$school_a" --year "$year" --mode cross-section --coverage 0.10)
echo "$out"
cohort_a=$(echo "$out" | sed -n 's/^cohort \(coh-[^ ]*\).*/\1/p')

step "7. every family for $school_b"
out=$($pthv cohort select --district demo-usd --school "$school_b" --year "$year" --mode all)
echo "$out"
cohort_b=$(echo "$out" | sed -n 's/^cohort \(coh-[^ ]*\).*/\1/p')

step "8. a family of the cross-section declines: refresh replaces it from the same grade, nobody else moves"
student=$($pthv cohort show "$cohort_a" --district demo-usd --format json | awk -F'"' '/"student_ids"/ { getline; print $2; exit }')
$pthv consent set --district demo-usd --year "$year" --student "$student" --consent declined
$pthv cohort refresh "$cohort_a" --district demo-usd | sed -n '1,4p'

step "9. verifying the cohort: recomputed from its stored seed and inputs"
$pthv cohort verify "$cohort_a" --district demo-usd

step "the district's cohorts"
$pthv cohort list --district demo-usd
printf '\nCoordinator CSVs (names and contacts: personal data) are in s3://%s/reports/demo-usd/cohorts/;\n' "$REPORTS_BUCKET"
printf 'save one with: pthv cohort show COHORT_ID --district demo-usd --csv FILE\n'

step "10. dropping visit logs for both cohorts: the reach function recomputes what they touched"
$pthv gen visits --district demo-usd --out "$work/visits.csv" "$cohort_a" "$cohort_b"
$pthv upload "$work/visits.csv" --kind visits --district demo-usd --wait | sed -n '1,12p'
# The ingest function asked the reach function to recompute (an Event invocation): wait for it.
for _ in $(seq 1 150); do
  if $pthv reach --year "$year" --format json 2>/dev/null | grep -q '"visits": [1-9]'; then break; fi
  sleep 0.2
done

step "11. reach for $year, as PTHV's site shows it, from the API (SigV4-signed, IAM auth)"
$pthv reach --year "$year" --by state

step "12. by site (counts under 10 suppressed)"
$pthv reach --year "$year" --by site

step "13. the nightly safety net: a full recomputation changes nothing"
$pthv reach recompute --full

step "14. a nightly SIS sync: a second district pulled from the local OneRoster 1.2 stand-in"
$pthv districts add --id sync-usd --name "Sync Unified School District" --state CA
$pthv sync add --district sync-usd --provider oneroster-1.2 --base-url "$SIS_STANDIN_URL" \
  --token-url "$SIS_STANDIN_TOKEN_URL" --client-id "$SIS_STANDIN_CLIENT_ID" \
  --client-secret-file "$SIS_STANDIN_SECRET_FILE" --schedule 'cron(30 2 * * ? *)' --tz America/Los_Angeles --rate 1200
# The first run of a new connection is held with its full diff (exit 1): approve it.
out=$($pthv sync run --district sync-usd --wait) || true
printf '%s\n' "$out"
held=$(printf '%s\n' "$out" | sed -n 's/^import \(imp-[^:]*\): held$/\1/p')
$pthv imports approve "$held" --district sync-usd
for _ in $(seq 1 150); do
  if $pthv imports show "$held" --district sync-usd | sed -n 1p | grep -q applied; then break; fi
  sleep 0.2
done
$pthv imports show "$held" --district sync-usd | sed -n 1p

step "15. the next night: a delta that writes nothing"
$pthv sync run --district sync-usd --wait

step "16. a night the SIS refuses enrollments (403, a scope gap) and rate-limits: the run is held, nothing deactivated"
curl -fsS -X PUT "$SIS_STANDIN_ADMIN/_standin/faults" -d '{"forbidden":["enrollments"],"rateLimitEvery":3,"retryAfter":"1"}'
$pthv sync run --district sync-usd --full --wait || echo "(exit $?: held, as it should be)"
curl -fsS -X PUT "$SIS_STANDIN_ADMIN/_standin/faults" -d '{}'
$pthv sync runs --district sync-usd

step "17. a third district rostered through Clever: the local Clever stand-in, a district-app token"
$pthv districts add --id clever-usd --name "Clever Unified School District" --state CA
$pthv sync add --district clever-usd --name clever --provider clever --token-file "$CLEVER_STANDIN_TOKEN_FILE" \
  --base-url "$CLEVER_STANDIN_URL"
out=$($pthv sync run --district clever-usd --name clever --wait) || true
printf '%s\n' "$out"
held=$(printf '%s\n' "$out" | sed -n 's/^import \(imp-[^:]*\): held$/\1/p')
$pthv imports approve "$held" --district clever-usd
for _ in $(seq 1 150); do
  if $pthv imports show "$held" --district clever-usd | sed -n 1p | grep -q applied; then break; fi
  sleep 0.2
done
$pthv imports show "$held" --district clever-usd | sed -n 1p
echo "the district revokes the token: the run fails, nothing is deactivated"
curl -fsS -X PUT "$CLEVER_STANDIN_ADMIN/_standin/faults" -d '{"revoked":true}'
$pthv sync run --district clever-usd --name clever --wait || echo "(exit $?: failed, as it should be)"
curl -fsS -X PUT "$CLEVER_STANDIN_ADMIN/_standin/faults" -d '{}'
$pthv sync runs --district clever-usd --name clever

step "18. the dashboard, served from the objects the reach function published (CloudFront's in AWS)"
dash=$DASHBOARD_URL
printf 'public page: %s/\n' "$dash"
printf 'staff page, a link signed with your credentials for 15 minutes (pthv reach dashboard):\n'
$pthv reach dashboard
if [ "$keep" = 1 ]; then
  printf '\nThe local stack keeps running; stop it with: %s local down --state %s\n' "$pthv" "$state"
elif [ -t 0 ]; then
  printf '\nOpen the pages now; press Enter to stop the local stack (or run with DEMO_KEEP=1 to keep it).\n'
  read -r _ || true
fi

if [ "$keep" != 1 ]; then step "stopping the local stack"; fi
printf '\nDashboard: %s/\n' "$dash"
