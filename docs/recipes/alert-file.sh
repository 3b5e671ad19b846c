#!/bin/sh
# breakglass alert hook: keep every event in FILE, on another mount (a USB
# disk, an NFS share owned by another team), through the reference receiver
# (docs/ALERTS.md, "Receiving events"): it appends and syncs each event,
# checks that each checkpoint extends the last one kept, and exits non-zero,
# saying why, on a rollback or fork (then the vault keeps the events queued
# and `breakglass alerts status` shows the alarm).
# Usage: alerts set --officer O -- /usr/local/lib/breakglass/alert-file.sh FILE [RECEIVER]
# RECEIVER: the path of alert-receiver.py (default: beside this script).
set -eu
receiver=${2:-$(dirname "$0")/alert-receiver.py}
exec /usr/bin/python3 "$receiver" "$1"
