"""The gateway stays up and answers clearly when the model is missing or the input is bad."""
from __future__ import annotations

import asyncio

import pytest

from bot.db.session import Database
from bot.gateway import create_app
from tests.conftest import free_port, make_settings


@pytest.fixture
async def bare_gateway(aiohttp_client, tmp_path):
    """A gateway with no trained model and no action server: everything it relies on is down."""
    settings = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
    )
    database = Database(settings.database_url)
    database.create_all()
    client = await aiohttp_client(create_app(settings, database=database))
    for _ in range(100):  # the model loader runs in the background; wait for its verdict
        health = await (await client.get("/healthz")).json()
        if health["model"]["state"] != "loading":
            break
        await asyncio.sleep(0.05)
    yield client
    database.dispose()


async def test_healthz_reports_a_missing_model_and_action_server(bare_gateway):
    response = await bare_gateway.get("/healthz")
    assert response.status == 200
    health = await response.json()
    assert health["status"] == "degraded"
    assert health["database"]["ok"] is True
    assert health["model"]["ok"] is False and health["model"]["state"] == "failed"
    assert "no trained model" in health["model"]["error"]
    assert health["action_server"]["ok"] is False


async def test_citizen_gets_unavailable_in_their_language_when_model_is_missing(bare_gateway):
    for text, marker in [
        ("Bonjour, je veux un extrait de naissance", "indisponible"),
        ("سلام بغيت عقد الازدياد", "ماخدامةش"),
    ]:
        response = await bare_gateway.post(
            "/webhooks/rest/webhook", json={"sender": "c1", "message": text}
        )
        assert response.status == 200
        replies = await response.json()
        assert len(replies) == 1 and marker in replies[0]["text"]
        assert replies[0]["recipient_id"] == "c1"


async def test_malformed_json_gets_400_with_an_explanation(bare_gateway):
    response = await bare_gateway.post(
        "/webhooks/rest/webhook", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]


async def test_binary_body_gets_400(bare_gateway):
    response = await bare_gateway.post("/webhooks/rest/webhook", data=bytes(range(256)) * 4)
    assert response.status == 400


async def test_message_that_is_not_a_string_gets_400(bare_gateway):
    response = await bare_gateway.post(
        "/webhooks/rest/webhook", json={"sender": "c1", "message": {"$ne": 1}}
    )
    assert response.status == 400


async def test_empty_message_gets_a_clear_reply_without_the_model(bare_gateway):
    response = await bare_gateway.post(
        "/webhooks/rest/webhook", json={"sender": "c2", "message": "   \x00 "}
    )
    replies = await response.json()
    assert "vide" in replies[0]["text"]


async def test_huge_message_is_refused_politely(bare_gateway):
    response = await bare_gateway.post(
        "/webhooks/rest/webhook", json={"sender": "c3", "message": "a" * 20000}
    )
    replies = await response.json()
    assert "20000" in replies[0]["text"] and "2000" in replies[0]["text"]


async def test_body_over_the_size_limit_is_rejected(bare_gateway):
    response = await bare_gateway.post(
        "/webhooks/rest/webhook", json={"sender": "c4", "message": "a" * 400_000}
    )
    assert response.status == 413


async def test_metrics_are_in_prometheus_text_format(bare_gateway):
    await bare_gateway.post("/webhooks/rest/webhook", json={"sender": "c5", "message": ""})
    response = await bare_gateway.get("/metrics")
    assert response.status == 200
    body = await response.text()
    assert 'sawt_messages_in_total{channel="rest"} 1.0' in body


async def test_web_chat_page_is_served(bare_gateway):
    response = await bare_gateway.get("/")
    assert response.status == 200
    page = await response.text()
    assert "/webhooks/rest/webhook" in page and "textContent" in page
