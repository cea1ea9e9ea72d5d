"""Prometheus metrics, one registry per application (so tests can run several side by side)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "sawt_messages_in", "Messages received from citizens", ["channel"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "sawt_messages_out", "Replies produced for citizens", ["channel"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "sawt_fallbacks", "Turns the model did not understand", ["language"],
            registry=self.registry,
        )
        self.turn_errors = Counter(
            "sawt_turn_errors", "Turns answered with 'temporarily unavailable'",
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "sawt_turn_seconds", "Time the brain took for one turn", registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.webhook_requests = Counter(
            "sawt_webhook_requests",
            "Platform webhook requests by outcome (stored, duplicate, ignored, refused, "
            "malformed, unavailable)",
            ["channel", "outcome"], registry=self.registry,
        )
        self.outbox_attempts = Counter(
            "sawt_outbox_attempts",
            "Outbox send attempts by outcome (sent, retry, failed, window_closed)",
            ["channel", "outcome"], registry=self.registry,
        )
        self.model_loaded = Gauge(
            "sawt_model_loaded", "1 when the Rasa model is loaded", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
