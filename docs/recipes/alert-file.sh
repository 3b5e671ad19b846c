#!/bin/sh
# breakglass alert hook: append each event as one line to FILE, on another
# mount (a USB disk, an NFS share), and sync it (docs/OPERATIONS.md, "Alerts").
# Usage: alerts set --officer O -- /usr/local/lib/breakglass/alert-file.sh FILE
set -eu
line=$(cat)
printf '%s\n' "$line" >> "$1"
sync "$1"
