"""The fake WhatsApp Cloud API answers as Meta's reference says, so channel tests can trust it.

Each test names the behaviour of the real API it pins down: limits and error bodies of the
Messages API, the Bearer token, media lookup and download, read receipts, and Meta's webhook
side (handshake, signatures checked here by an independent HMAC, statuses in order, the
24-hour window reported as a `failed` status with 131047).
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Optional

import aiohttp
import pytest
from aiohttp import web

from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp import FakeWhatsApp

CITIZEN = "212612345678"
VERIFY_TOKEN = "verify-me"


@dataclass
class Received:
    raw: bytes
    body: Any
    signature: Optional[str]
    signature_valid: bool


@dataclass
class Receiver:
    """A tiny webhook endpoint that checks Meta's handshake and recomputes each signature."""

    app_secret: str
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == VERIFY_TOKEN:
            return web.Response(text=query["hub.challenge"])
        return web.Response(status=403, text="wrong verify token")

    async def notify(self, request: web.Request) -> web.Response:
        raw = await request.read()
        header = request.headers.get("X-Hub-Signature-256")
        expected = "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        valid = header is not None and hmac.compare_digest(header, expected)
        self.received.append(Received(raw, json.loads(raw), header, valid))
        return web.Response(status=200 if valid else 401, text="ok" if valid else "bad signature")

    def statuses(self) -> list[dict[str, Any]]:
        return [st for r in self.received for st in wp.statuses_of(r.body)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeWhatsApp) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


@pytest.fixture
async def receiver(fake: FakeWhatsApp) -> AsyncIterator[Receiver]:
    endpoint = Receiver(fake.app_secret)
    app = web.Application()
    app.router.add_get("/webhook", endpoint.verify)
    app.router.add_post("/webhook", endpoint.notify)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    yield endpoint
    await runner.cleanup()


async def post(
    client: aiohttp.ClientSession, fake: FakeWhatsApp, body: Any, *, node: Optional[str] = None
) -> tuple[int, Any]:
    url = f"{fake.api_base}/{node or fake.phone_number_id}/messages"
    async with client.post(url, json=body) as response:
        return response.status, await response.json()


def text_body(text: str = "Salam", to: str = CITIZEN) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": text},
    }


def buttons_body(*titles: str, body: str = "Choose") -> dict[str, Any]:
    buttons = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": title}}
        for i, title in enumerate(titles)
    ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CITIZEN,
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def list_body(*sections: list[str], titled: bool = True) -> dict[str, Any]:
    built = []
    for s, rows in enumerate(sections):
        section: dict[str, Any] = {
            "rows": [{"id": f"r{s}.{i}", "title": row} for i, row in enumerate(rows)]
        }
        if titled:
            section["title"] = f"Section {s}"
        built.append(section)
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CITIZEN,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick a service"},
            "action": {"button": "Services", "sections": built},
        },
    }


def template_body(**template: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "template",
        "template": template or {"name": "hello_world", "language": {"code": "fr"}},
    }


def changed(body: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    change(copied)
    return copied


# ---- sending -----------------------------------------------------------------------------


async def test_a_text_inside_the_window_is_accepted_with_a_fresh_wamid(fake, client):
    fake.open_window(CITIZEN)

    first = await post(client, fake, text_body("Salam"))
    second = await post(client, fake, text_body("Bonjour", to="+212 612-345-678"))

    assert first[0] == 200
    assert first[1]["messaging_product"] == "whatsapp"
    assert first[1]["contacts"] == [{"input": CITIZEN, "wa_id": CITIZEN}]
    assert second[1]["contacts"] == [{"input": "+212 612-345-678", "wa_id": CITIZEN}]
    wamids = [first[1]["messages"][0]["id"], second[1]["messages"][0]["id"]]
    assert all(w.startswith("wamid.") for w in wamids) and wamids[0] != wamids[1]
    assert [s.wamid for s in fake.sent] == wamids
    assert [s.text for s in fake.sent_to(CITIZEN)] == ["Salam", "Bonjour"]
    assert fake.sent[0]["type"] == "text" and not fake.sent[0].failed


async def test_a_template_is_accepted_with_message_status_even_outside_the_window(fake, client):
    status, body = await post(client, fake, template_body())

    assert status == 200
    assert body["messages"][0]["message_status"] == "accepted"
    assert not fake.sent[0].failed


async def test_values_at_the_documented_limits_are_accepted(fake, client):
    fake.open_window(CITIZEN)
    longest_buttons = buttons_body("a" * 20, "b" * 20, "c" * 20, body="x" * 1024)
    longest_buttons["interactive"]["action"]["buttons"][0]["reply"]["id"] = "i" * 256
    longest_buttons["interactive"]["header"] = {"type": "text", "text": "h" * 60}
    longest_buttons["interactive"]["footer"] = {"text": "f" * 60}
    longest_list = list_body(["r" * 24] * 5, ["s" * 24] * 5)
    longest_list["interactive"]["body"]["text"] = "y" * 4096
    longest_list["interactive"]["action"]["button"] = "z" * 20
    longest_list["interactive"]["action"]["sections"][0]["title"] = "t" * 24
    row = longest_list["interactive"]["action"]["sections"][0]["rows"][0]
    row["id"], row["description"] = "d" * 200, "e" * 72
    untitled_single_section = list_body(["Only"], titled=False)

    for body in (text_body("w" * 4096), longest_buttons, longest_list, untitled_single_section):
        status, answer = await post(client, fake, body)
        assert status == 200, answer

    assert len(fake.sent) == 4


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets `value` at a dotted path (list indexes allowed)."""

    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()
BUTTONS = buttons_body("Yes", "No")
LIST = list_body(["One", "Two"], ["Three"])
INVALID_REQUESTS = [
    ("no messaging_product", text_body(), _set("messaging_product", _DELETE), 100),
    ("group recipient", text_body(), _set("recipient_type", "group"), 100),
    ("no recipient", text_body(), _set("to", _DELETE), 131008),
    ("unknown type", text_body(), _set("type", "hologram"), 131051),
    ("empty text", text_body(), _set("text.body", "   "), 100),
    ("text of 4097", text_body(), _set("text.body", "x" * 4097), 100),
    ("buttons without body", BUTTONS, _set("interactive.body", _DELETE), 131008),
    ("button body of 1025", BUTTONS, _set("interactive.body.text", "x" * 1025), 131009),
    ("no buttons", BUTTONS, _set("interactive.action.buttons", []), 131008),
    (
        "four buttons",
        buttons_body("1", "2", "3", "4"),
        lambda body: None,
        131009,
    ),
    ("url button", BUTTONS, _set("interactive.action.buttons.0.type", "url"), 131009),
    ("empty title", BUTTONS, _set("interactive.action.buttons.0.reply.title", ""), 131009),
    ("title of 21", BUTTONS, _set("interactive.action.buttons.0.reply.title", "x" * 21), 131009),
    ("id of 257", BUTTONS, _set("interactive.action.buttons.0.reply.id", "x" * 257), 131009),
    ("duplicate ids", BUTTONS, _set("interactive.action.buttons.1.reply.id", "b0"), 131009),
    (
        "header of 61",
        BUTTONS,
        _set("interactive.header", {"type": "text", "text": "x" * 61}),
        131009,
    ),
    ("footer of 61", BUTTONS, _set("interactive.footer", {"text": "x" * 61}), 131009),
    ("list body of 4097", LIST, _set("interactive.body.text", "x" * 4097), 131009),
    ("list label of 21", LIST, _set("interactive.action.button", "x" * 21), 131009),
    ("eleven sections", list_body(*[["r"]] * 11), lambda body: None, 131009),
    ("eleven rows", list_body(["r"] * 6, ["s"] * 5), lambda body: None, 131009),
    ("no rows", list_body([]), lambda body: None, 131009),
    ("row title of 25", LIST, _set("interactive.action.sections.0.rows.0.title", "x" * 25), 131009),
    ("row id of 201", LIST, _set("interactive.action.sections.0.rows.0.id", "x" * 201), 131009),
    (
        "description of 73",
        LIST,
        _set("interactive.action.sections.0.rows.0.description", "x" * 73),
        131009,
    ),
    ("duplicate row ids", LIST, _set("interactive.action.sections.1.rows.0.id", "r0.0"), 131009),
    (
        "untitled section among two",
        LIST,
        _set("interactive.action.sections.1.title", _DELETE),
        131009,
    ),
    ("section title of 25", LIST, _set("interactive.action.sections.0.title", "x" * 25), 131009),
    ("image header on a list", LIST, _set("interactive.header", {"type": "image"}), 131009),
    ("template without name", template_body(), _set("template.name", _DELETE), 131008),
    ("template without language", template_body(), _set("template.language", {}), 131008),
]


@pytest.mark.parametrize(
    ("body", "change", "code"),
    [case[1:] for case in INVALID_REQUESTS],
    ids=[case[0] for case in INVALID_REQUESTS],
)
async def test_an_invalid_request_is_refused_with_the_graph_error(fake, client, body, change, code):
    fake.open_window(CITIZEN)

    status, answer = await post(client, fake, changed(body, change))

    assert status == 400
    error = answer["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"] and error["fbtrace_id"]
    assert fake.sent == []
    assert fake.calls[-1].status == 400


async def test_an_oversized_button_title_reads_as_meta_words_it(fake, client):
    fake.open_window(CITIZEN)

    _, answer = await post(client, fake, buttons_body("x" * 21))

    assert answer["error"]["message"] == "(#131009) Parameter value is not valid"
    assert answer["error"]["error_data"]["details"] == (
        "Button title length invalid. Min length: 1, Max length: 20"
    )


# ---- authentication and unknown objects --------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "EAAG-test-token"])
async def test_a_call_without_the_right_bearer_token_is_refused_with_code_190(fake, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        status, answer = await post(session, fake, text_body())

    assert status == 401
    assert answer["error"]["code"] == 190
    assert answer["error"]["type"] == "OAuthException"
    assert answer["error"]["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert answer["error"]["fbtrace_id"]
    assert fake.sent == [] and fake.calls[-1].status == 401


async def test_an_unknown_phone_number_id_is_an_unsupported_post_request(fake, client):
    status, answer = await post(client, fake, text_body(), node="999999999")

    assert status == 400
    assert answer["error"]["code"] == 100
    assert answer["error"]["message"].startswith("Unsupported post request. Object with ID '999")


# ---- injected errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (130429, "Rate limit hit"),
        (131056, "(Business Account, Consumer Account) pair rate limit hit"),
        (131047, "Re-engagement message"),
        (131026, "Message Undeliverable"),
        (131051, "Unsupported message type"),
        (131009, "Parameter value is not valid"),
        (100, "Invalid parameter"),
    ],
)
async def test_an_injected_error_answers_the_graph_body_with_http_400(fake, client, code, title):
    fake.open_window(CITIZEN)
    fake.fail_next(code)

    status, answer = await post(client, fake, text_body())

    assert status == 400
    error = answer["error"]
    assert error["message"] == f"(#{code}) {title}"
    assert error["type"] == "OAuthException" and error["code"] == code
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"] and error["fbtrace_id"]
    assert "error_subcode" not in error  # deprecated, not returned from v16.0 on
    assert (await post(client, fake, text_body()))[0] == 200  # only the next one fails


@pytest.mark.parametrize(
    ("code", "http_status"),
    [(131000, 500), (131016, 500), (368, 403), (190, 401)],
)
async def test_injected_errors_use_the_documented_http_status(fake, client, code, http_status):
    fake.open_window(CITIZEN)
    fake.fail_next(code)

    status, answer = await post(client, fake, text_body())

    assert status == http_status and answer["error"]["code"] == code


async def test_an_injected_error_can_repeat_target_one_citizen_and_override_its_status(
    fake, client
):
    other = "212699999999"
    fake.open_window(CITIZEN)
    fake.open_window(other)
    fake.fail_next(131056, times=2, to=CITIZEN, http_status=429, details="slow down", subcode=7)

    assert (await post(client, fake, text_body(to=other)))[0] == 200
    first = await post(client, fake, text_body())
    second = await post(client, fake, text_body())
    third = await post(client, fake, text_body())

    assert first[0] == second[0] == 429
    assert first[1]["error"]["error_data"]["details"] == "slow down"
    assert first[1]["error"]["error_subcode"] == 7
    assert third[0] == 200
    assert [s.wa_id for s in fake.sent] == [other, CITIZEN]


async def test_a_bare_5xx_has_no_graph_body_and_then_recovers(fake, client):
    fake.open_window(CITIZEN)
    fake.fail_with_status(503)
    url = f"{fake.api_base}/{fake.phone_number_id}/messages"

    async with client.post(url, json=text_body()) as response:
        assert response.status == 503
        assert response.content_type == "text/plain"
    assert (await post(client, fake, text_body()))[0] == 200


async def test_throughput_limit_refuses_sends_beyond_it_with_130429(fake, client):
    others = ["212699999991", "212699999992"]
    for number in (CITIZEN, *others):
        fake.open_window(number)
    fake.throughput_limit(2)

    assert (await post(client, fake, text_body(to=others[0])))[0] == 200
    assert (await post(client, fake, text_body(to=others[1])))[0] == 200
    status, answer = await post(client, fake, text_body())  # another citizen, same number

    assert status == 400
    assert answer["error"]["code"] == 130429
    assert answer["error"]["message"] == "(#130429) Rate limit hit"
    assert answer["error"]["error_data"]["details"]
    assert fake.throttled == 1
    assert [s.wa_id for s in fake.sent] == others
    assert fake.sent[0].at <= fake.sent[1].at
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    assert (await post(client, fake, read))[0] == 200  # not a message: never refused

    await asyncio.sleep(1.05)  # the window slid past the first two
    assert (await post(client, fake, text_body()))[0] == 200
    fake.throughput_limit(None)
    for _ in range(5):
        assert (await post(client, fake, text_body()))[0] == 200
    assert fake.throttled == 1 and len(fake.sent) == 2 + 1 + 5


# ---- read receipts -----------------------------------------------------------------------


async def test_marking_a_message_read_answers_success_and_is_recorded(fake, client):
    fake.fail_next(130429)  # injected failures are for sends, never for read receipts
    wamid = wp.new_wamid()

    status, answer = await post(
        client, fake, {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    )

    assert (status, answer) == (200, {"success": True})
    assert fake.read_receipts == [wamid]


async def test_marking_an_invalid_message_id_read_is_131009(fake, client):
    fake.strict_read_receipts = True
    delivered = wp.text("Salam")
    fake.inbound_ids.add(wp.messages_of(delivered)[0]["id"])

    bad = await post(
        client, fake, {"messaging_product": "whatsapp", "status": "read", "message_id": "nope"}
    )
    unknown = await post(
        client,
        fake,
        {"messaging_product": "whatsapp", "status": "read", "message_id": wp.new_wamid()},
    )

    assert bad[0] == unknown[0] == 400
    assert bad[1]["error"]["code"] == unknown[1]["error"]["code"] == 131009
    assert fake.read_receipts == []


# ---- media ------------------------------------------------------------------------------


async def test_media_is_looked_up_then_downloaded_with_the_token(fake, client):
    content = b"\x89PNG fake image"
    fake.add_media("1003383421387256", content, "image/png")

    async with client.get(f"{fake.api_base}/1003383421387256") as response:
        assert response.status == 200
        info = await response.json()
    async with client.get(info["url"]) as response:
        downloaded = (response.status, await response.read(), response.content_type)

    assert info["messaging_product"] == "whatsapp" and info["id"] == "1003383421387256"
    assert info["mime_type"] == "image/png"
    assert info["sha256"] == hashlib.sha256(content).hexdigest()
    assert info["file_size"] == len(content)
    assert info["url"].startswith(fake.base_url)
    assert downloaded == (200, content, "image/png")


async def test_downloading_media_without_the_token_is_refused(fake, client):
    fake.add_media("42", b"voice", "audio/ogg; codecs=opus")
    async with client.get(f"{fake.api_base}/42") as response:
        url = (await response.json())["url"]

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == 190


async def test_a_media_url_expires_after_five_minutes(fake, client):
    fake.add_media("42", b"voice", "audio/ogg; codecs=opus")
    async with client.get(f"{fake.api_base}/42") as response:
        url = (await response.json())["url"]
    start = fake.clock()
    fake.clock = lambda: start + 301

    async with client.get(url) as response:
        assert response.status == 404


async def test_an_unknown_media_id_is_an_unsupported_get_request(fake, client):
    async with client.get(f"{fake.api_base}/123456") as response:
        assert response.status == 400
        error = (await response.json())["error"]

    assert error["code"] == 100
    assert error["message"].startswith("Unsupported get request. Object with ID '123456'")


async def test_an_uploaded_file_can_be_looked_up(fake, client):
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("file", b"%PDF-1.4", filename="receipt.pdf", content_type="application/pdf")
    async with client.post(f"{fake.api_base}/{fake.phone_number_id}/media", data=form) as response:
        media_id = (await response.json())["id"]

    assert fake.media_content(media_id) == b"%PDF-1.4"


# ---- webhooks ----------------------------------------------------------------------------


async def test_the_handshake_keeps_the_url_only_when_the_challenge_comes_back(fake, receiver):
    assert await fake.configure_webhook(receiver.url, "wrong") == 403
    assert fake.webhook_url is None

    assert await fake.configure_webhook(receiver.url, VERIFY_TOKEN) == 200
    assert fake.webhook_url == receiver.url


async def test_deliver_signs_the_exact_raw_body_with_the_app_secret(fake, receiver):
    await fake.configure_webhook(receiver.url, VERIFY_TOKEN)
    payload = wp.text("السلام عليكم 👋")

    signed = await fake.deliver(payload)
    forged = await fake.deliver(payload, signature="sha256=" + "0" * 64)
    unsigned = await fake.deliver(payload, signature=None)

    assert signed == (200, "ok")
    assert forged == unsigned == (401, "bad signature")
    assert [r.signature_valid for r in receiver.received] == [True, False, False]
    assert receiver.received[2].signature is None
    assert receiver.received[0].body == payload
    assert receiver.received[0].signature == wp.sign(receiver.received[0].raw, fake.app_secret)


async def test_auto_statuses_arrive_signed_and_in_order(fake, client, receiver):
    fake.auto_statuses = True
    await fake.configure_webhook(receiver.url, VERIFY_TOKEN)
    status, _ = await fake.deliver_message(wp.text("Salam", wa_id=CITIZEN))
    assert status == 200

    _, answer = await post(client, fake, text_body("Marhba"))
    wamid = answer["messages"][0]["id"]
    await fake.wait_for(lambda: len(receiver.statuses()) >= 2, what="sent and delivered")

    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    assert {s["id"] for s in statuses} == {wamid}
    assert all(s["recipient_id"] == CITIZEN for s in statuses)
    assert statuses[0]["pricing"]["type"] == "free_customer_service"
    assert "conversation" in statuses[0]
    assert all(r.signature_valid for r in receiver.received)


async def test_a_reaction_only_gets_a_sent_status(fake, client, receiver):
    fake.auto_statuses = True
    await fake.configure_webhook(receiver.url, VERIFY_TOKEN)
    fake.open_window(CITIZEN)
    reaction = {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "reaction",
        "reaction": {"message_id": wp.new_wamid(), "emoji": "👍"},
    }

    assert (await post(client, fake, reaction))[0] == 200
    await fake.drain_statuses()

    assert [s["status"] for s in receiver.statuses()] == ["sent"]


async def test_a_free_form_message_outside_the_window_is_accepted_then_fails_131047(
    fake, client, receiver
):
    fake.auto_statuses = True
    await fake.configure_webhook(receiver.url, VERIFY_TOKEN)

    status, answer = await post(client, fake, text_body("Late reply"))
    await fake.wait_for(lambda: bool(receiver.statuses()), what="a failed status")

    assert status == 200 and answer["messages"][0]["id"].startswith("wamid.")
    [failed] = receiver.statuses()
    assert failed["status"] == "failed" and failed["id"] == answer["messages"][0]["id"]
    [error] = failed["errors"]
    assert error["code"] == 131047
    assert error["title"] == error["message"] == "Re-engagement message"
    assert "24 hours" in error["error_data"]["details"]
    assert fake.sent[0].error_code == 131047
    assert fake.sent_to(CITIZEN, delivered_only=True) == []
    assert receiver.received[0].signature_valid


async def test_the_window_can_be_answered_synchronously_instead(fake, client):
    fake.window_policy = "sync"

    status, answer = await post(client, fake, text_body())

    assert status == 400 and answer["error"]["code"] == 131047
    assert answer["error"]["message"] == "(#131047) Re-engagement message"


async def test_the_window_closes_24_hours_after_the_citizens_last_message(fake):
    start = 1_700_000_000.0
    fake.clock = lambda: start
    fake.open_window(CITIZEN)
    assert fake.window_open(CITIZEN)

    fake.clock = lambda: start + 24 * 3600 - 1
    assert fake.window_open(CITIZEN)
    fake.clock = lambda: start + 24 * 3600
    assert not fake.window_open(CITIZEN)

    fake.open_window(CITIZEN)
    fake.close_window(CITIZEN)
    assert not fake.window_open(CITIZEN)


async def test_an_asynchronous_failure_is_accepted_then_reported(fake, client, receiver):
    fake.auto_statuses = True
    await fake.configure_webhook(receiver.url, VERIFY_TOKEN)
    fake.open_window(CITIZEN)
    fake.fail_next(131026, asynchronous=True)

    status, _ = await post(client, fake, text_body())
    await fake.drain_statuses()

    assert status == 200
    assert [(s["status"], s["errors"][0]["code"]) for s in receiver.statuses()] == [
        ("failed", 131026)
    ]


async def test_wait_for_sent_returns_the_messages_and_explains_a_timeout(fake, client):
    fake.open_window(CITIZEN)
    await post(client, fake, text_body("one"))

    assert [s.text for s in await fake.wait_for_sent(1, to=CITIZEN)] == ["one"]
    with pytest.raises(AssertionError, match=r"2 message\(s\) sent to .* 'one'"):
        await fake.wait_for_sent(2, to=CITIZEN, timeout=0.05)


# ---- payload builders --------------------------------------------------------------------


def test_an_incoming_message_has_the_reference_envelope():
    payload = wp.text("Salam", wa_id=CITIZEN, name="Amina")

    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": "212600000000",
        "phone_number_id": "106540352242922",
    }
    assert value["contacts"] == [{"profile": {"name": "Amina"}, "wa_id": CITIZEN}]
    [msg] = value["messages"]
    assert msg["from"] == CITIZEN and msg["id"].startswith("wamid.")
    assert msg["timestamp"].isdigit() and msg["type"] == "text"
    assert msg["text"] == {"body": "Salam"}


def test_replies_to_buttons_and_lists_carry_their_context():
    button = wp.messages_of(wp.interactive_button_reply("yes", "Yes", context_id="wamid.A"))[0]
    row = wp.messages_of(wp.interactive_list_reply("r1", "Water", "Cuts and leaks"))[0]
    quick = wp.messages_of(wp.button("STOP", "Stop"))[0]

    assert button["context"] == {"from": "212600000000", "id": "wamid.A"}
    assert button["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Yes"},
    }
    assert row["interactive"]["list_reply"] == {
        "id": "r1",
        "title": "Water",
        "description": "Cuts and leaks",
    }
    assert quick["type"] == "button" and quick["button"] == {"payload": "STOP", "text": "Stop"}


def test_media_location_reaction_and_other_messages_follow_the_reference():
    audio = wp.messages_of(wp.audio("m1", voice=True))[0]["audio"]
    doc = wp.messages_of(wp.document("m2", filename="cin.pdf", caption="ID"))[0]["document"]
    sticker = wp.messages_of(wp.sticker("m3", animated=True))[0]["sticker"]
    place = wp.messages_of(wp.location(33.57, -7.59, name="Commune", address="Bd Zerktouni"))[0]
    removed = wp.messages_of(wp.reaction("wamid.B", None))[0]
    unsupported = wp.messages_of(wp.unsupported("poll_creation"))[0]
    system = wp.system_user_changed_number("212677777777", wa_id=CITIZEN)

    assert audio["voice"] is True and audio["mime_type"] == "audio/ogg; codecs=opus"
    assert doc["filename"] == "cin.pdf" and doc["caption"] == "ID" and doc["id"] == "m2"
    assert sticker["animated"] is True and sticker["mime_type"] == "image/webp"
    assert place["location"]["latitude"] == 33.57 and place["location"]["name"] == "Commune"
    assert removed["reaction"] == {"message_id": "wamid.B"}  # removal: no emoji
    assert unsupported["unsupported"] == {"type": "poll_creation"}
    assert unsupported["errors"][0]["code"] == 131051
    assert unsupported["errors"][0]["title"] == "Message type unknown"
    assert "contacts" not in system["entry"][0]["changes"][0]["value"]
    assert wp.messages_of(system)[0]["system"]["type"] == "user_changed_number"


def test_statuses_and_batches_follow_the_reference():
    error = wp.status_error(131047, "Re-engagement message", "24 hours passed")
    failed = wp.status("wamid.C", "failed", CITIZEN, errors=[error])
    sent = wp.status(
        "wamid.D", "sent", CITIZEN, conversation=wp.conversation_info(), pricing=wp.pricing_info()
    )
    one = wp.batch(wp.text("a"), failed, sent)
    merged = wp.batch(wp.text("a"), wp.text("b"), merge_values=True)

    [status] = wp.statuses_of(failed)
    assert status["errors"][0] == {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "24 hours passed"},
        "href": wp.ERROR_CODES_HREF,
    }
    assert len(one["entry"]) == 3
    assert [s["status"] for s in wp.statuses_of(one)] == ["failed", "sent"]
    assert len(merged["entry"]) == 1
    assert [m["text"]["body"] for m in wp.messages_of(merged)] == ["a", "b"]


def test_sign_is_hmac_sha256_of_the_raw_body():
    body = b'{"object":"whatsapp_business_account"}'

    expected = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert wp.sign(body, "app-secret") == f"sha256={expected}"
