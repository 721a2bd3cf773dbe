#!/usr/bin/env python3
"""
A fake OCI registry and bearer-token server for tests/registry_test.c
(python3 standard library only; 127.0.0.1, ephemeral ports).

Usage: registry_fake.py LAYOUT PORTFILE LOGFILE MODE[,MODE...]

Serves the OCI image layout LAYOUT (tags from index.json's ref.name
annotations) read-only under any repository name. Modes:
  bearer   every /v2/ request needs "Authorization: Bearer <token>"; the 401
           challenge names the realm http://127.0.0.1:PORT/token; the token
           endpoint wants basic user:secret and scope repository:*:pull
  flaky    the first request to each path answers 503 (then 429 for blobs)
  slow     every /v2/ request waits 30 s before answering
  redirect blob GETs are redirected (307) to a second listener (another
           port: another host for the client), which logs whether an
           Authorization header came along
  http10   answer as HTTP/1.0 (a connection per request); the default is
           HTTP/1.1 with persistent connections
  close    close the connection after every response, without saying so
           ("Connection: close" not sent): a client must see it and reconnect
  drop     on every connection, the second request is not answered: the
           connection is closed (as a server whose idle timeout has just
           passed); logged "METHOD PATH DROPPED"
  truncate blob GETs send their Content-Length and half the body, then close
Writes "PORT\n" to PORTFILE once listening; appends one line per request to
LOGFILE ("METHOD PATH STATUS auth=yes|no conn=CLIENTPORT").
"""
import base64
import http.server
import json
import os
import sys
import threading
import time

LAYOUT, PORTFILE, LOGFILE, MODES = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
TOKEN = "tok-" + base64.b16encode(os.urandom(8)).decode()
SEEN = set()
LOCK = threading.Lock()
STATE = {"port": 0, "blobport": 0}


def log(line):
    with LOCK, open(LOGFILE, "a") as f:
        f.write(line + "\n")


def blob(digest):
    if not digest.startswith("sha256:") or not all(c in "0123456789abcdef" for c in digest[7:]) or len(digest) != 71:
        return None
    p = os.path.join(LAYOUT, "blobs", "sha256", digest[7:])
    return open(p, "rb").read() if os.path.isfile(p) else None


def tag(name):
    idx = json.load(open(os.path.join(LAYOUT, "index.json")))
    for d in idx.get("manifests", []):
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == name:
            return d["digest"]
    return None


class Blobs(http.server.BaseHTTPRequestHandler):
    """The redirect target: another port, so the client must not send Authorization here."""

    def log_message(self, *a):
        pass

    def do_GET(self):
        data = blob(self.path.rsplit("/", 1)[-1])
        log("GET %s %d auth=%s (redirected)" % (self.path, 200 if data else 404,
                                               "yes" if self.headers.get("Authorization") else "no"))
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0" if "http10" in MODES else "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", headers=None, send_body=True):
        log("%s %s %d auth=%s conn=%d" % (self.command, self.path, status,
                                          "yes" if self.headers.get("Authorization") else "no",
                                          self.client_address[1]))
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and "truncate" in MODES and status == 200 and "/blobs/" in self.path:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if send_body:
            self.wfile.write(body)
        if "close" in MODES:
            self.close_connection = True

    def token(self):
        want = "Basic " + base64.b64encode(b"user:secret").decode()
        if self.headers.get("Authorization") != want or "scope=repository%3A" not in self.path and \
                "scope=repository:" not in self.path:
            return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
        return self.answer(200, json.dumps({"token": TOKEN}).encode(), {"Content-Type": "application/json"})

    def handle_any(self, send_body):
        self.served = getattr(self, "served", 0) + 1
        if "drop" in MODES and self.served == 2:
            log("%s %s DROPPED conn=%d" % (self.command, self.path, self.client_address[1]))
            self.close_connection = True
            return
        if self.path.startswith("/token"):
            return self.token()
        if "slow" in MODES:
            time.sleep(30)
        if "flaky" in MODES:
            with LOCK:
                first = self.path not in SEEN
                SEEN.add(self.path)
            if first:
                return self.answer(503 if "/blobs/" not in self.path else 429, b"busy", {"Retry-After": "0"})
        if "bearer" in MODES and self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {
                "WWW-Authenticate": 'Bearer realm="http://127.0.0.1:%d/token",service="fake",scope="x"' % STATE["port"]})
        parts = self.path.split("/")
        if self.path == "/v2/":
            return self.answer(200, b"{}", {"Content-Type": "application/json"}, send_body)
        if len(parts) >= 5 and parts[-2] == "manifests":
            ref = parts[-1]
            dg = ref if ref.startswith("sha256:") else tag(ref)
            data = blob(dg) if dg else None
            if data is None:
                return self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            mt = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            return self.answer(200, data, {"Content-Type": mt, "Docker-Content-Digest": dg}, send_body)
        if len(parts) >= 5 and parts[-2] == "blobs":
            data = blob(parts[-1])
            if data is None:
                return self.answer(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
            if "redirect" in MODES and self.command == "GET":
                return self.answer(307, b"", {"Location": "http://127.0.0.1:%d/b/%s" % (STATE["blobport"], parts[-1])})
            return self.answer(200, data, {"Content-Type": "application/octet-stream"}, send_body)
        return self.answer(404, b"{}")

    def do_GET(self):
        self.handle_any(True)

    def do_HEAD(self):
        self.handle_any(False)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    bsrv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blobs)
    STATE["port"] = srv.server_address[1]
    STATE["blobport"] = bsrv.server_address[1]
    threading.Thread(target=bsrv.serve_forever, daemon=True).start()
    with open(PORTFILE + ".tmp", "w") as f:
        f.write("%d\n" % STATE["port"])
    os.rename(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
