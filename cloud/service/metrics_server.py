"""A bare /metrics endpoint for `vigil worker` and `vigil ingest` (they run no API)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloud.service.metrics import ServiceMetrics


def serve_metrics(
    metrics: ServiceMetrics, port: int, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """Serve `metrics` at http://host:port/metrics in a daemon thread; call .shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="vigil-metrics", daemon=True).start()
    return server
