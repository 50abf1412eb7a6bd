"""Durable background work and housekeeping."""
