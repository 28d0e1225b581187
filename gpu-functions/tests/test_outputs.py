"""Delivering an output file to its upload target: checksum header, size and hash in the answer, and
nothing uploaded twice when the GPU container already delivered it (Modal)."""

import hashlib
import time

import pytest

from cmvc_gpu.errors import ContractError
from cmvc_gpu.outputs import deliver

ENGINE = {"id": "t", "version": "0", "models": {}}


def made(data: bytes) -> dict:
    video = {"container": "mp4", "mimeType": "video/mp4", "width": 2, "height": 2, "fps": 1.0, "frameCount": 1, "data": data}
    return {"engine": ENGINE, "video": video, "seconds": {"gpu": 0.0, "cpu": 0.5}}


def test_deliver_uploads_once_and_reports_size_hash_and_seconds(store):
    data = b"\x00\x00\x00\x18ftyp" + bytes(range(256)) * 40
    request = {"output": store.target("outputs/one.mp4")}
    delivered = deliver(request, made(data))
    assert store.objects["outputs/one.mp4"] == data
    assert delivered["video"]["bytes"] == len(data) and delivered["video"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert "data" not in delivered["video"] and delivered["seconds"]["cpu"] == 0.5 and delivered["seconds"]["upload"] >= 0
    puts = len(store.puts)
    assert deliver(request, delivered) is delivered  # already delivered: passed through, not uploaded again
    assert len(store.puts) == puts


def test_a_refused_upload_is_an_upload_failed_error(store):
    store.objects["outputs/taken.mp4"] = b"other bytes"
    with pytest.raises(ContractError) as error:
        deliver({"output": store.target("outputs/taken.mp4")}, made(b"mine"))
    assert error.value.code == "upload_failed" and error.value.details == {"field": "output.url", "status": 409}
    assert store.objects["outputs/taken.mp4"] == b"other bytes"


def test_uploads_share_one_client_rather_than_building_one_each(store, monkeypatch):
    import httpx

    from cmvc_gpu import outputs

    built = []
    real_client = httpx.Client

    def counting_client(*args, **kwargs):
        built.append(kwargs)
        return real_client(*args, **kwargs)

    monkeypatch.setattr(outputs, "_shared_client", None)
    monkeypatch.setattr(outputs.httpx, "Client", counting_client)
    for n in range(3):
        data = bytes([n]) * 1000
        deliver({"output": store.target(f"outputs/shared-{n}.mp4")}, made(data))
        assert store.objects[f"outputs/shared-{n}.mp4"] == data
    assert len(built) == 1


def test_fetch_seconds_are_taken_out_of_the_compute_once_and_a_far_side_fetch_is_kept(store):
    """On Modal the GPU container counts its own fetches (``with_fetch_seconds``) and the web layer's
    count adds nothing; locally the server's count is the call's. Either way each second is reported once."""
    from cmvc_gpu.media.sources import fetch_seconds_apart, read_source, with_fetch_seconds

    far = {"engine": ENGINE, "seconds": {"gpu": 2.0, "cpu": 2.0, "fetch": 0.25}}
    assert fetch_seconds_apart(far, 0.0)["seconds"] == {"gpu": 2.0, "cpu": 2.0, "fetch": 0.25}
    assert fetch_seconds_apart({"seconds": {"gpu": 2.0, "cpu": 2.0}}, 0.5)["seconds"] == {"gpu": 1.5, "cpu": 1.5, "fetch": 0.5}
    assert fetch_seconds_apart({"seconds": {"gpu": 0.0, "cpu": 0.2}}, 0.5)["seconds"] == {"gpu": 0.0, "cpu": 0.0, "fetch": 0.5}

    def engine_call() -> dict:
        """An engine call that reads one input by URL and times itself from its start, as engines do."""
        began = time.perf_counter()
        read_source(store.source("outputs/in.bin", b"abc"), 10)
        return {"seconds": {"gpu": 0.0, "cpu": time.perf_counter() - began}}

    store.get_delay_seconds = 0.1
    try:
        seconds = with_fetch_seconds(engine_call)["seconds"]
    finally:
        store.get_delay_seconds = 0.0
    assert seconds["fetch"] >= 0.1 and seconds["cpu"] < 0.05
