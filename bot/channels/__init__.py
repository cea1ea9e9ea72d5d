"""Channels: each parses its platform's updates into `Inbound` and renders `Reply` for it."""
