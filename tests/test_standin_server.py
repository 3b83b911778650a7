"""The stand-in server itself: routes, request log, faults, concurrency counting."""

import threading
import time

import pytest
import requests

from tests.standins.server import Response


def test_routes_answer_and_requests_are_recorded(server):
    server.route("/hello", lambda r: Response.json({"q": r.param("q")}))
    assert requests.get(server.url + "/hello?q=pie", timeout=5).json() == {"q": "pie"}
    assert [r.param("q") for r in server.requests_to("/hello")] == ["pie"]
    assert requests.get(server.url + "/nowhere", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("kind", "params", "check"),
    [
        (
            "status",
            {"status": 429, "retry_after": "2"},
            lambda r: r.status_code == 429 and r.headers["Retry-After"] == "2",
        ),
        ("status", {"status": 503}, lambda r: r.status_code == 503),
        ("html", {}, lambda r: r.headers["Content-Type"].startswith("text/html")),
        ("oversize", {"size": 5000}, lambda r: len(r.content) == 5000),
    ],
)
def test_faults_that_answer(server, kind, params, check):
    server.add_file("/f.bin", b"x" * 100)
    server.fault("/f.bin", kind, **params)
    assert check(requests.get(server.url + "/f.bin", timeout=5))


def test_truncated_body_is_detected_by_the_client(server):
    server.add_file("/t.bin", b"y" * 10000)
    server.fault("/t.bin", "truncate")
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(server.url + "/t.bin", timeout=5)


def test_reset_and_hang(server):
    server.add_file("/r.bin", b"z")
    server.fault("/r.bin", "reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url + "/r.bin", timeout=5)
    server.fault("/r.bin", "hang", seconds=3)
    start = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(server.url + "/r.bin", timeout=0.5)
    assert time.monotonic() - start < 2


def test_a_fault_limited_in_times_then_passes(server):
    server.add_file("/once.bin", b"ok")
    server.fault("/once.bin", "status", status=503, times=1)
    assert requests.get(server.url + "/once.bin", timeout=5).status_code == 503
    assert requests.get(server.url + "/once.bin", timeout=5).content == b"ok"


def test_peak_concurrency_counts_a_folder(server):
    for i in range(4):
        server.add_file(f"/up/{i}.bin", b"a")
    server.latency = 0.3
    threads = [
        threading.Thread(target=requests.get, args=(f"{server.url}/up/{i}.bin",), kwargs={"timeout": 5})
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.peak_concurrency("/up/") == 4
    assert server.peak_concurrency("/up/0.bin") == 1
