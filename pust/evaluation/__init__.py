"""The clinical evaluation's pure engine: replay a recording (messages, ground truth, plan)
through pust's real validator, triage and alert lifecycle, and count what a nurse would see.

Pure: it imports :mod:`pust.domain` only, so the CLI (simulated cohorts, cohort files) and
the API (the clinic's own history) drive the same replay."""
