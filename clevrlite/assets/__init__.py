"""The default vocabulary (properties.json), shipped in the wheel as package data."""
