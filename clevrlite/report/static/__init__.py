"""The report and human pages' own HTML, CSS and JavaScript (package data, no code)."""
