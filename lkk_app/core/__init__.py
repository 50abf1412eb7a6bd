"""Shared plain-Python building blocks: clock, domain errors, signing, secrets."""
