"""Shared plain-Python building blocks: clock, domain errors, signing, tokens,
text bounds and cleaning, formatting for people."""
