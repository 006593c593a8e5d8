"""Serve web/ on localhost for the page (index.html, the model, onnxruntime-web's wasm files).

    python web/serve.py [--port 8000]

http.server with the JavaScript and wasm content types set explicitly: module scripts and
workers are refused under a wrong type, and Python's own table depends on /etc/mime.types.
"""

import argparse
import functools
import http.server
import os
import threading

WEB = os.path.dirname(os.path.abspath(__file__))


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".onnx": "application/octet-stream",
    }

    model_dir = None  # serve /model/ from here instead of web/model/ (tests export into a temp dir)

    def translate_path(self, path):
        rel = path.split("?", 1)[0].split("#", 1)[0]
        if self.model_dir and rel.startswith("/model/"):
            return os.path.join(self.model_dir, os.path.basename(rel))
        return super().translate_path(path)

    def log_message(self, *args):  # quiet: the page is chatty (one request per file)
        pass


def start(
    port: int = 0, directory: str = WEB, model_dir: str | None = None
) -> http.server.ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: any free port) running in a daemon thread; call
    .shutdown()."""
    handler = type("ModelHandler", (Handler,), {"model_dir": model_dir})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(handler, directory=directory)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--dir", default=WEB)
    a = ap.parse_args()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", a.port), functools.partial(Handler, directory=a.dir)
    )
    print(f"serving {a.dir} at http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
