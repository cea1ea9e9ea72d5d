"""Sawt: a citizen assistant for communes (Rasa brain, Telegram/WhatsApp/web channels, agents' console)."""
