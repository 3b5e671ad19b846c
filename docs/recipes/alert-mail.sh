#!/bin/sh
# breakglass alert hook: mail each event (docs/OPERATIONS.md, "Alerts").
# Usage: alerts set --officer O -- /usr/local/lib/breakglass/alert-mail.sh RECIPIENT [SENDMAIL]
# The event (one JSON line) is the body; the subject names its entry.
# Every event is mailed, a redelivered one too: the mailbox keeps them all.
# Whoever reads it follows docs/ALERTS.md, "Receiving events": feed each
# body to alert-receiver.py (a sieve or procmail pipe does); a repeated
# entry with different content is an alarm, never a duplicate to drop.
set -eu
to=$1
sendmail=${2:-/usr/sbin/sendmail}
event=$(cat)
seq=$(printf '%s\n' "$event" | sed -n 's/.*,"seq":\([0-9]*\),".*/\1/p')
{
  printf 'To: %s\n' "$to"
  printf 'Subject: breakglass alert: ledger entry %s\n' "$seq"
  printf 'Content-Type: application/json\n\n'
  printf '%s\n' "$event"
} | "$sendmail" -t -oi
