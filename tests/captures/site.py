"""A small web site served from the test process, with the pages a capture must cope with."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Agency signs cloud deal</title>
<meta property="og:site_name" content="The Example Ledger">
<meta property="article:published_time" content="2025-03-14T09:00:00Z">
</head><body><header>Menu · Home · About</header>
<article><h1>Agency signs cloud deal</h1>
<p>The agency signed a five-year contract with the cloud provider on Friday, records show.</p>
<p>“We host the agency’s case-management system,” a spokesperson said — in a statement.</p>
<img src="/pixel.png" alt=""></article>
<footer>© The Example Ledger</footer></body></html>"""

JS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Built by script</title></head>
<body><main id="main"></main><script src="/build.js"></script></body></html>"""

BUILD_JS = """document.getElementById('main').innerHTML =
  '<article><h1>Built later</h1><p>This sentence was written by JavaScript after the page loaded, '
  + 'long enough for the reader to keep it as the main text of the page.</p></article>';"""

PRIVATE_PAGE = """<!doctype html><html><head><title>Points inward</title></head><body>
<p>This page asks the browser for the cloud metadata service and a loopback name.</p>
<img src="http://169.254.169.254/latest/meta-data/">
<script>fetch('http://169.254.169.254/latest/api/token', {method: 'PUT'}).catch(() => {});</script>
</body></html>"""

SOCKETS_PAGE = """<!doctype html><html><head><title>Reaches around</title></head><body>
<p>This page opens a websocket, registers a service worker and preconnects.</p>
<link rel="preconnect" href="http://127.0.0.1:9/">
<script>
new WebSocket('ws://' + location.host + '/ws');
if (navigator.serviceWorker) { navigator.serviceWorker.register('/sw.js').catch(() => {}); }
</script></body></html>"""

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CSV = b"agency,vendor,amount\nICE,Example Cloud,100\n"


class State:
    """What the site serves now; tests change it to make a page change or vanish."""

    def __init__(self) -> None:
        self.article = ARTICLE
        self.gone = False
        self.requests: list[str] = []


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: C901 - one branch per test page
        path = self.path
        self.state.requests.append(path)
        html = "text/html; charset=utf-8"
        if path == "/article":
            if self.state.gone:
                self._send(404, b"<h1>Not found</h1>", html)
            else:
                self._send(200, self.state.article.encode(), html)
        elif path == "/pixel.png":
            self._send(200, PIXEL, "image/png")
        elif path == "/js":
            self._send(200, JS_PAGE.encode(), html)
        elif path == "/build.js":
            self._send(200, BUILD_JS.encode(), "text/javascript")
        elif path == "/moved":
            self._send(302, b"", html, Location="/moved-again")
        elif path == "/moved-again":
            self._send(301, b"", html, Location="/article")
        elif path == "/loop":
            self._send(302, b"", html, Location="/loop")
        elif path == "/report.pdf":
            self._send(200, PDF, "application/pdf")
        elif path == "/awards.csv":
            self._send(200, CSV, "text/csv")
        elif path == "/missing":
            self._send(404, b"<h1>Not found</h1>", html)
        elif path == "/slow":
            time.sleep(30)
            self._send(200, b"<p>too late</p>", html)
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", html)
            self.end_headers()
            chunk = b"<p>" + b"more " * 2000 + b"</p>\n"
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        elif path == "/sockets":
            self._send(200, SOCKETS_PAGE.encode(), html)
        elif path == "/sw.js":
            self._send(200, b"self.addEventListener('fetch', () => {});", "text/javascript")
        elif path == "/inward":
            self._send(200, PRIVATE_PAGE.encode(), html)
        elif path == "/to-metadata":
            self._send(302, b"", html, Location="http://169.254.169.254/latest/meta-data/")
        else:
            self._send(404, b"no such page", "text/plain")


class Site:
    """The running server: ``url(path)`` gives an address on it."""

    def __init__(self) -> None:
        self.state = State()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
