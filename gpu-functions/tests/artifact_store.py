"""An in-process HTTP object store for tests, standing in for R2 behind presigned URLs (and for the
Worker's signed artifact route): PUT is write-once and checked against ``Content-Length`` and the
``x-amz-checksum-sha256`` header (nothing is kept of a body that fails either); GET serves what was
stored, or one byte range of it (``Range: bytes=a-b``, 206). Real HTTP over loopback, so the functions' upload and download code runs as in production."""

from __future__ import annotations

import base64
import hashlib
import http.server
import re
import threading
import time


class ArtifactStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        #: ``(name, status)`` of every PUT, in order.
        self.puts: list[tuple[str, int]] = []
        #: Answer a ``Range`` GET with the whole object (200), as a server without range support does.
        self.ignore_range = False
        #: Seconds every GET waits before answering (a slow link).
        self.get_delay_seconds = 0.0
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                name = self.path.lstrip("/")
                length = int(self.headers.get("content-length", "-1"))
                body = self.rfile.read(length) if length >= 0 else b""
                declared = self.headers.get("x-amz-checksum-sha256")
                if length < 0 or declared != base64.b64encode(hashlib.sha256(body).digest()).decode():
                    status = 400
                elif name in store.objects:
                    status = 200 if store.objects[name] == body else 409
                else:
                    store.objects[name] = body
                    status = 201
                store.puts.append((name, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self):
                time.sleep(store.get_delay_seconds)
                body = store.objects.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                status = 200
                asked = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("range", ""))
                if asked and not store.ignore_range:
                    # R2 answers a range past the end with what there is of it.
                    status, body = 206, body[int(asked[1]) : int(asked[2]) + 1]
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def target(self, name: str) -> dict:
        """A contract ``UploadTarget`` for the object ``name``."""
        return {"url": f"{self.base}/{name}", "headers": {}}

    def source(self, name: str, data: bytes | None = None) -> dict:
        """A contract ``VideoUrl`` of the object ``name`` (stored first when ``data`` is given)."""
        if data is not None:
            self.objects[name] = data
        return {"url": f"{self.base}/{name}"}

    def close(self) -> None:
        self._httpd.shutdown()
