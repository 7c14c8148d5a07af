"""A stand-in for `python -m jupyterlab` in tests (TRAINSHED_JUPYTER_COMMAND): serves HTTP on the
given port and answers 200 only to the right token, so the Open link is tested for real."""

import http.server
import sys
import urllib.parse


def arg(name):
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    raise SystemExit(f"missing --{name}")


TOKEN = arg("IdentityProvider.token")
PORT = int(arg("ServerApp.port"))
HOST = arg("ServerApp.ip")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        ok = query.get("token") == [TOKEN]
        body = b"fake JupyterLab: welcome" if ok else b"forbidden: bad token"
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print(f"fake jupyter listening on {HOST}:{PORT}", flush=True)
http.server.HTTPServer((HOST, PORT), Handler).serve_forever()
