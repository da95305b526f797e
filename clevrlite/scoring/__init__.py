"""Scoring: answer parsing and comparison, scores and breakdowns, baselines."""
