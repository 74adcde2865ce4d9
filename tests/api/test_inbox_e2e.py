"""The inbox end to end: a real `matcher serve` with two worker processes, a real SMTP server (aiosmtpd) and
a real webhook receiver on loopback. A submission through the API opens the city office's to-do; the office's
official receives one e-mail for it, and the office's system one signed webhook after a 500 and a retry —
two workers deliver each once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook as Signer

from matcher.config import Settings
from tests.conftest import COMPLETE_PARTS, auth, start_server, talent_signs_in
from tests.services.test_inbox import Mailbox, Receiver

pytestmark = pytest.mark.once("sqlite")

DEMAND = {"title": "煤矸石制备陶粒工艺优化", "description": "我公司利用煤矸石烧制陶粒，产品吸水率偏高、强度不稳定，"
          "希望专家指导原料配比与烧成制度优化。", "modes": ["flexible"], "industry_code": "3039", **COMPLETE_PARTS}


def until(predicate: Any, limit: float = 30.0) -> None:
    deadline = time.time() + limit
    while not predicate():
        assert time.time() < deadline, f"not seen within {limit} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    handler = type("Hook", (Receiver,), {"received": [], "fail_first": 1})
    hooks = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    server = start_server(tmp_path_factory.mktemp("inbox-e2e"), settings, args=("--workers", "2"),
                          MATCHER_SMTP_HOST="127.0.0.1", MATCHER_SMTP_PORT=str(port),
                          MATCHER_NOTIFY_INTERVAL_SECONDS="0.5", MATCHER_NOTIFY_BACKOFF_SECONDS="0.5",
                          MATCHER_WEBHOOK_ALLOW_HTTP="true", MATCHER_WEBHOOK_ALLOW_PRIVATE="true",
                          MATCHER_PUBLIC_URL="https://rc.example.gov.cn", MATCHER_ALERT_INTERVAL_SECONDS="1")
    try:
        for _ in range(10):  # ten answers in a row: both workers have their pool
            until(lambda: httpx.get(server.base + "/ready", timeout=10).status_code == 200, 180)
        yield {"base": server.base, "box": box, "hook": handler,
               "hook_url": f"http://127.0.0.1:{hooks.server_address[1]}/oa", "server": server}
    finally:
        server.stop()
        hooks.shutdown()
        smtp.stop()


def test_a_submission_reaches_the_office_by_inbox_mail_and_signed_webhook(world: dict[str, Any]) -> None:
    base, box, hook = world["base"], world["box"], world["hook"]
    city = auth("city_official")
    r = httpx.put(base + "/api/v1/me/notifications", headers=city, timeout=10,
                  json={"email": "shenhe@changzhi.example.gov.cn", "email_enabled": True})
    assert r.status_code == 200 and r.json()["email"] == "shenhe@changzhi.example.gov.cn", r.text
    assert httpx.put(base + "/api/v1/me/notifications", headers=city, timeout=10,
                     json={"email": "不是邮箱"}).json()["error"]["field"] == "email"
    reg = httpx.post(base + "/api/v1/webhooks", headers=city, json={"url": world["hook_url"]}, timeout=10)
    assert reg.status_code == 201, reg.text
    secret = reg.json()["secret"]
    assert httpx.post(base + "/api/v1/webhooks", headers=auth("enterprise"), json={"url": world["hook_url"]},
                      timeout=10).status_code == 403
    # 出榜 → 揭榜 → shortlist → contact → submit: the city office's 审核 is due
    d = httpx.post(base + "/api/v1/demands", json=DEMAND, headers=auth("enterprise"), timeout=30).json()
    mine = auth("intermediary")
    assert httpx.post(f"{base}/api/v1/demands/{d['id']}/take-up", headers=mine, timeout=30).status_code == 200
    top = httpx.get(f"{base}/api/v1/demands/{d['id']}/matches?mode=flexible&k=1", headers=mine,
                    timeout=30).json()["items"][0]["talent"]["id"]
    m = httpx.post(f"{base}/api/v1/demands/{d['id']}/shortlist", json={"talent_id": top, "mode": "flexible"},
                   headers=mine, timeout=30).json()
    httpx.post(f"{base}/api/v1/matches/{m['id']}/contacts", json={"note": "电话", "answer": "accepted"},
               headers=mine, timeout=30)
    assert httpx.post(f"{base}/api/v1/matches/{m['id']}/submit", json={"plan": "三个月完成配比试验"},
                      headers=mine, timeout=30).json()["status"] == "submitted"
    todo = httpx.get(base + "/api/v1/inbox?kind=review", headers=city, timeout=10).json()["items"]
    assert [i["entity_id"] for i in todo] == [str(m["id"])] and DEMAND["title"] in todo[0]["title"]
    assert httpx.get(base + "/api/v1/inbox/unread", headers=city, timeout=10).json()["unread"] >= 1

    def mails() -> list[Any]:
        return [x for x in box.messages if DEMAND["title"] in str(x["Subject"])]

    until(lambda: len(mails()) >= 1)
    until(lambda: any(status == 204 for _, _, status in hook.received))
    time.sleep(3)  # both workers sweep several times more: nothing is sent again
    [mail] = mails()
    assert mail["To"] == "shenhe@changzhi.example.gov.cn"
    assert f"https://rc.example.gov.cn/console/matches/{m['id']}" in mail.get_content()
    statuses = [status for _, _, status in hook.received]
    assert statuses == [500, 204], statuses
    (first, _, _), (headers, body, _) = hook.received
    assert first["webhook-id"] == headers["webhook-id"]
    assert Signer(secret).verify(body, headers)["data"]["entity_id"] == str(m["id"])
    log = httpx.get(base + "/api/v1/notifications", headers=auth("admin"), timeout=10).json()
    sent = [n for n in log if n["status"] == "sent" and n["key"].startswith(f"review:{m['id']}:")]
    assert sorted(n["channel"] for n in sent) == ["email", "webhook"]
    assert next(n for n in sent if n["channel"] == "webhook")["attempts"] == 2


RED_MUD = {**DEMAND, "title": "赤泥提铁与建材化利用", "description": "我公司氧化铝生产产生大量赤泥，希望专家指导赤泥"
           "磁选提铁和制备建材的工艺路线，降低堆存成本。"}


def test_a_saved_search_alerts_once_for_one_new_demand(world: dict[str, Any]) -> None:
    """Two workers, an alert job every second: the intermediary's saved words meet one new demand, which
    is announced once in the inbox and by one e-mail, and not again."""
    base, box = world["base"], world["box"]
    mine = auth("intermediary")
    assert httpx.put(base + "/api/v1/me/notifications", headers=mine, timeout=10,
                     json={"email": "jiebang@agency.example.com"}).status_code == 200
    bad = httpx.post(base + "/api/v1/saved-searches", headers=mine, timeout=10,
                     json={"kind": "demands", "filters": {"colour": "红"}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "filters", bad.text
    saved = httpx.post(base + "/api/v1/saved-searches", headers=mine, timeout=10,
                       json={"kind": "demands", "name": "赤泥", "filters": {"q": "赤泥"}})
    assert saved.status_code == 201, saved.text
    d = httpx.post(base + "/api/v1/demands", json=RED_MUD, headers=auth("enterprise"), timeout=30).json()
    assert d["status"] == "open", d

    def alerts() -> list[Any]:
        found = httpx.get(base + "/api/v1/inbox?kind=new_demand&state=all", headers=mine, timeout=10).json()
        return [i for i in found["items"] if i["entity_id"] == str(d["id"])]

    until(alerts, 60)
    until(lambda: any("赤泥" in str(m["Subject"]) for m in box.messages))
    time.sleep(3)  # several more alert jobs in both workers: nothing new
    assert len(alerts()) == 1 and "赤泥提铁" in alerts()[0]["title"]
    assert len([m for m in box.messages if "赤泥" in str(m["Subject"])]) == 1
    listed = httpx.get(base + "/api/v1/saved-searches", headers=mine, timeout=10).json()
    saved_one = next(x for x in listed if x["name"] == "赤泥")  # beside the demo's own 现代煤化工新需求
    assert saved_one["runs"] >= 2 and "现代煤化工新需求" in [x["name"] for x in listed]


FLY_ASH = {**DEMAND, "title": "粉煤灰制备地聚合物胶凝材料",
           "description": "我公司电厂粉煤灰堆存量大，希望专家指导粉煤灰碱激发制备地聚合物胶凝材料，"
                          "提高早期强度并降低成本。"}


def test_a_followed_demand_alerts_new_top_talents_and_never_a_withdrawn_one(world: dict[str, Any]) -> None:
    """The enterprise follows its demand; two talents withdraw — one just outside the top 10, then the
    first — so others enter the list: each newcomer is announced once, the withdrawn never."""
    base = world["base"]
    boss = auth("enterprise")

    def call(method: str, path: str, role: str | None, json: Any = None) -> httpx.Response:
        return httpx.request(method, base + path, headers=auth(role) if role else {}, json=json, timeout=30)

    d = httpx.post(base + "/api/v1/demands", json=FLY_ASH, headers=boss, timeout=30).json()
    ranked = httpx.get(f"{base}/api/v1/demands/{d['id']}/matches?mode=flexible&k=12", headers=boss,
                       timeout=30).json()["items"]
    assert len(ranked) == 12, ranked
    follow = httpx.post(base + "/api/v1/saved-searches", headers=boss, timeout=10,
                        json={"kind": "talents", "demand_id": d["id"]})
    assert follow.status_code == 201 and follow.json()["filters"] == {"mode": "flexible"}, follow.text
    first, outside = ranked[0]["talent"], ranked[10]["talent"]
    for gone in (outside, first):  # the one outside first: it never had a chance to be announced
        assert call("POST", "/api/v1/me/withdraw", None).status_code == 401
        me = talent_signs_in(call, gone["id"])
        assert httpx.post(base + "/api/v1/me/withdraw", headers=me, timeout=30).status_code == 200

    def alerts() -> list[Any]:
        found = httpx.get(base + "/api/v1/inbox?kind=new_talent&state=all&limit=100", headers=boss,
                          timeout=10).json()["items"]
        return [i for i in found if i["entity_id"] == str(d["id"])]

    until(alerts, 60)
    time.sleep(3)  # more alert jobs in both workers: nothing twice
    titles = [i["title"] for i in alerts()]
    assert titles and len(titles) == len(set(titles)), titles
    assert not any(first["name"] in t or outside["name"] in t for t in titles), titles
