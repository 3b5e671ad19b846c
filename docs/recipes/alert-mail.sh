#!/bin/sh
# breakglass alert hook: mail each event (docs/OPERATIONS.md, "Alerts").
# Usage: alerts set --officer O -- /usr/local/lib/breakglass/alert-mail.sh RECIPIENT [SENDMAIL]
# The event (one JSON line) is the body; the subject names its entry.
set -eu
to=$1
sendmail=${2:-/usr/sbin/sendmail}
event=$(cat)
seq=$(printf '%s\n' "$event" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
{
  printf 'To: %s\n' "$to"
  printf 'Subject: breakglass alert: ledger entry %s\n' "$seq"
  printf 'Content-Type: application/json\n\n'
  printf '%s\n' "$event"
} | "$sendmail" -t -oi
