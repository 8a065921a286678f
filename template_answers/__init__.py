"""The template's rules for its answers, and how answers are written into files."""
