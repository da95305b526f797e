"""Scoring: answer parsing and comparison, scores and breakdowns, baselines."""

# The baselines clevrlite.scoring.baselines writes (here so the CLI can list them cheaply).
BASELINE_KINDS = ("random", "oracle", "text-only", "text-only-shots", "lookalike", "blind",
                  "first-hop", "no-conjunction")
