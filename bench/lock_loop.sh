#!/usr/bin/env bash
# The W4 peer "aws s3 sync + lock loop": the runbook's script (shared/seed-bucket-replication.md,
# "Sync with object lock retention takeover"), run as operators run it, with two fixes:
#  - it carries legal holds too (the runbook's loop copies retention only);
#  - it reads an object's lock state with one `aws s3api head-object` instead of
#    get-object-retention, which moto answers with HTTP 500 (head-object returns mode, date and hold).
# Like the runbook it is serial, one aws-cli process per call, and keys come from `aws s3 ls | awk`.
# Usage: lock_loop.sh SOURCE_BUCKET DEST_BUCKET ENDPOINT_URL   (credentials from AWS_* variables)
# Prints sync_start / sync_end / loop_end epoch times and an error count for the bench to read.
set -u
source_bucket="$1"
dest_bucket="$2"
endpoint="$3"

echo "sync_start $(date +%s.%N)"
aws s3 sync "s3://$source_bucket/" "s3://$dest_bucket/" --endpoint-url "$endpoint" --only-show-errors --no-progress
echo "sync_end $(date +%s.%N)"

errors=0
files=$(aws s3 ls "s3://$source_bucket/" --recursive --endpoint-url "$endpoint" | awk '{print $4}')
for file in $files; do
  if ! lock=$(aws s3api head-object --bucket "$source_bucket" --key "$file" --endpoint-url "$endpoint" \
      --query '[ObjectLockMode, ObjectLockRetainUntilDate, ObjectLockLegalHoldStatus]' --output text); then
    errors=$((errors + 1))
    continue
  fi
  read -r mode until hold <<<"$lock"
  if [ "$mode" != "None" ]; then
    aws s3api put-object-retention --bucket "$dest_bucket" --key "$file" --endpoint-url "$endpoint" \
      --retention "{\"Mode\": \"$mode\", \"RetainUntilDate\": \"$until\"}" || errors=$((errors + 1))
  fi
  if [ "$hold" != "None" ]; then
    aws s3api put-object-legal-hold --bucket "$dest_bucket" --key "$file" --endpoint-url "$endpoint" \
      --legal-hold "Status=$hold" || errors=$((errors + 1))
  fi
done
echo "loop_end $(date +%s.%N)"
echo "errors $errors"
