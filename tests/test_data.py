"""Tests of collapsebook.data: the hub probe that falls back in seconds, and the digits that ship with the package."""

import contextlib
import http.server
import json
import socket
import threading
import time

import numpy as np
import pytest

from collapsebook import data


@contextlib.contextmanager
def serving(handler_class):
    """An HTTP server on 127.0.0.1 with ``handler_class``, yielding its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def silent_server():
    """Accepts connections and never answers: a captive network, a TLS hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        for connection in accepted:
            connection.close()
        listener.close()


class HubLike(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"id": "facebook/opt-125m"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CaptivePortal(HubLike):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>Please log in to the hotel network</html>")


class Trickle(HubLike):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        for _ in range(20):  # one byte a second: every read is within a socket timeout, the whole is not
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(1)


@pytest.fixture
def online_env(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    for name in data.HUB_TIMEOUTS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_network_that_accepts_but_never_answers_is_offline_within_seconds(online_env):
    with silent_server() as url:
        online_env.setenv("HF_ENDPOINT", url)
        start = time.perf_counter()
        assert data.configure_hub(timeout=2.0) is False
        assert time.perf_counter() - start < 5
    assert data.os.environ["HF_HUB_OFFLINE"] == "1" and data.os.environ["HF_DATASETS_OFFLINE"] == "1"


@pytest.mark.parametrize("handler", [CaptivePortal, Trickle], ids=["captive portal", "trickling server"])
def test_an_answer_that_is_not_the_hub_is_offline_within_the_deadline(online_env, handler):
    with serving(handler) as url:
        online_env.setenv("HF_ENDPOINT", url)
        start = time.perf_counter()
        assert data.hub_reachable(timeout=2.0) is False
        assert time.perf_counter() - start < 5


def test_the_hub_answering_is_online_with_short_timeouts(online_env):
    with serving(HubLike) as url:
        online_env.setenv("HF_ENDPOINT", url)
        assert data.configure_hub(timeout=5.0) is True
    for name, seconds in data.HUB_TIMEOUTS.items():
        assert data.os.environ[name] == seconds


def test_no_network_at_all_is_offline_at_once(online_env):
    with socket.socket() as unused:  # a port nobody listens on: connection refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    online_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    assert data.hub_reachable(timeout=3.0) is False
    assert time.perf_counter() - start < 2


def test_offline_settings_are_respected_without_a_request(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://192.0.2.1")  # TEST-NET: would hang if it were asked
    start = time.perf_counter()
    assert data.hub_reachable() is False and time.perf_counter() - start < 0.1


def test_the_offline_digits_ship_with_the_package_and_need_no_network(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    images, labels = data.load_mnist(28)
    assert "shipped with the package" in capsys.readouterr().out
    assert images.shape == (10_000, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014,
                                                                        1070, 944, 978]
    assert 0.1 < images.mean() < 0.15  # MNIST's mean grey level is 0.13


def test_hub_mnist_is_decoded_once_into_a_compressed_cache_and_a_damaged_cache_is_named(tmp_path, monkeypatch,
                                                                                       capsys):
    import io
    import zipfile

    pytest.importorskip("datasets")  # the hub path's reader (the torch extra)
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from collapsebook import store

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)

    def png(image):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        return buffer.getvalue()

    table = pa.table({"image": [{"bytes": png(d), "path": None} for d in digits], "label": [4, 1, 7]})
    source = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(table, source)
    monkeypatch.setenv("COLLAPSEBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    images, labels = data.load_mnist(28, source=source)
    np.testing.assert_allclose(images, digits / 255.0, atol=1e-7)
    assert labels.tolist() == [4, 1, 7] and images.dtype == np.float32
    (cached,) = (tmp_path / "cache" / "mnist").glob("hub-*.npz")
    with zipfile.ZipFile(cached) as z:
        assert {info.compress_type for info in z.infolist()} == {zipfile.ZIP_DEFLATED}
    source.unlink()  # the second load reads the cache only
    np.testing.assert_array_equal(data.load_mnist(28, source=source)[0], images)
    cached.write_bytes(cached.read_bytes()[:100])
    with pytest.raises(store.DamagedFile, match=f"{cached.name} is damaged"):
        data.load_mnist(28, source=source)
