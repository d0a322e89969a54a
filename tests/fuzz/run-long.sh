#!/usr/bin/env bash
# The long fuzzing campaign: every target for an hour (override: SECONDS_EACH=...).
# Record the outcome in docs/security.md (fuzzing record).
exec "$(dirname "$0")/run.sh" "${SECONDS_EACH:-3600}" "$@"
