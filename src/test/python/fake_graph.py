#!/usr/bin/env python3
"""An independent fake of Microsoft Graph's message-trace API (standard library only, Python 3.11).

Written from Microsoft's public documentation of
  GET /v1.0/admin/exchange/tracing/messageTraces   (List messageTraces, exchangeMessageTrace)
  POST /{tenant}/oauth2/v2.0/token                 (Microsoft identity platform, client credentials)
and from docs/microsoft-apis.md + samples/ of the shared notes -- not from the product's own fakes.

What it does
  * Generates --rows message-trace rows deterministically (--seed), spread evenly from --from-ago to --to-ago
    before the server's start.  One row per recipient; some messages have several recipients (same id, same
    messageId, same receivedDateTime), some are a distribution-group "expanded" row plus its members.
    (id, recipientAddress) is unique.  Statuses are the seven documented ones, lower-camel as in Graph's
    docs and the samples (--status-case pascal to send PascalCase, mixed to send both).
    receivedDateTime is "YYYY-MM-DDThh:mm:ssZ" (whole seconds, as the samples and the documented format);
    --millis adds a ".fffZ" fraction.
  * Token endpoint: form POST, grant_type=client_credentials, client_id/client_secret checked, scope
    "<resource>/.default" required; answers like samples/token-reply.json (expires_in 3599).
  * messageTraces: needs "Authorization: Bearer <a token issued here for https://graph.microsoft.com>"
    (401 InvalidAuthenticationToken otherwise).  $filter must give both bounds,
    "receivedDateTime ge <t> and receivedDateTime le <t>" (both inclusive); 400 BadRequest when one bound is
    missing, the range exceeds 10 days, the start is more than 90 days ago, or the end is later than now.
    No $filter at all: the previous 48 hours (the documented default period).  Extra "eq" clauses on id,
    messageId, senderAddress, recipientAddress, status, fromIP, toIP are honoured (slow path).
    $top 1..5000, default 1000.  Rows newest first.  Paging by an absolute @odata.nextLink that repeats
    $filter and $top and adds an opaque $skiptoken; the last page has no nextLink.
  * Optional throttling (--quota N --quota-period S): 429 TooManyRequests + Retry-After, per the notes.

Speed: every row is JSON-encoded once into one big buffer, newest first, each row followed by a comma; a
page is prefix + one contiguous slice of that buffer + suffix.  Rows of a window are found by binary search.

  python3 fake_graph.py --rows 300000 --port 18080
  python3 fake_graph.py --self-test
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import hmac
import json
import json.encoder
import os
import random
import re
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from array import array
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GRAPH_RESOURCE = "https://graph.microsoft.com"
LIST_PATH = "/v1.0/admin/exchange/tracing/messageTraces"
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces"
MAX_TOP = 5000
DEFAULT_TOP = 1000
MAX_SPAN_S = 10 * 86400
MAX_AGE_S = 90 * 86400
DEFAULT_PERIOD_S = 48 * 3600

STATUSES_CAMEL = ["delivered", "failed", "pending", "quarantined", "filteredAsSpam", "expanded", "gettingStatus"]

# --------------------------------------------------------------------------------------------------------
# data


def duration(text: str) -> float:
    """'2d', '20m', '90s', '1h', '1.5h' or plain seconds -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 2d, 20m, 90s)")
    n = float(m.group(1))
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}[m.group(2)]


def iso(ms: int, millis: bool) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe",
         "o'neil", "anne-marie", "jean.luc", "li.wei", "sven", "amira", "kofi", "priya", "mateo"]
INTERNAL = "contoso.com"
EXTERNAL = ["fabrikam.com", "example.net", "mailer.example.net", "adatum.com", "northwindtraders.com",
            "tailspintoys.com", "wingtiptoys.com", "litware.com"]
SERVICE_SENDERS = ["billing", "noreply", "newsletter", "promo", "hr", "it-support", "alerts", "invoices"]
GROUPS = ["all-staff", "sales-team", "engineering", "finance-dl", "it-ops"]
SUBJECTS = [
    "Your November invoice", "Weekly status report", "Re: project timeline", "Meeting notes", "Limited offer",
    "Benefits enrolment", "Password expiry notice", "FW: contract draft v3", "Lunch on Friday?",
    "Invoice 2026-0142", "Office closed Friday", "Quarterly results", "Action required: verify your account",
    "Build failed: main #4711", "Welcome aboard", "", "RE: RE: RE: quick question",
]
UNICODE_SUBJECTS = [
    "Réunion «Q1» — \"budget\" C:\\Finance\\Q1\nSecond line ✓ 日本語",
    "Grüße aus Zürich – Angebot Nr. 42",
    "Отчёт за ноябрь",
    "会议纪要：第四季度计划",
    "تقرير المبيعات الشهري",
    "Party time 🎉🍕 (emoji outside the BMP)",
    "Tab\there, quote \" and backslash \\ and\r\nCRLF",
    "Ελληνικά και ελληνικά — δοκιμή",
    "עדכון שבועי",
    "Café ☕ naïve façade — ½ price",
]


def ip(rng: random.Random, net: str) -> str:
    return f"{net}.{rng.randint(1, 254)}"


class TraceData:
    """All rows, newest first, encoded once.

    buf: UTF-8 JSON objects, each followed by ','.  off[i] = start of row i in buf (off[n] = len(buf)).
    neg_ms[i] = -receivedDateTime of row i in ms (ascending, for bisect).  Row i is newer or as new as row i+1.
    """

    def __init__(self, rows: int, start_ms: int, end_ms: int, seed: int, millis: bool, status_case: str):
        self.n = rows
        self.start_ms = start_ms
        self.end_ms = end_ms
        rng = random.Random(seed)
        records: list[tuple[int, bytes]] = []   # (ms, encoded) in ascending time
        keys: set[tuple[str, str]] = set()
        span = max(0, end_ms - start_ms)
        msg = 0
        i = 0
        es = json.encoder.encode_basestring      # JSON string literal, non-ASCII kept as UTF-8
        last_ms, received = None, ""
        while i < rows:
            # recipients of this message
            r = rng.random()
            if r < 0.72:
                nrcpt = 1
            elif r < 0.90:
                nrcpt = 2
            elif r < 0.97:
                nrcpt = rng.randint(3, 5)
            else:
                nrcpt = -1      # distribution group: one 'expanded' row + 2..4 members
            # time: evenly spread over [start, end] by the index of the message's first row
            ms = start_ms + (span * i // max(1, rows - 1) if rows > 1 else 0)
            if not millis:
                ms -= ms % 1000
                if ms < start_ms:
                    ms += 1000
            direction = rng.random()
            if direction < 0.55:        # inbound
                sdom = rng.choice(EXTERNAL)
                sender = f"{rng.choice(SERVICE_SENDERS + FIRST)}@{sdom}"
                from_ip = ip(rng, rng.choice(["198.51.100", "203.0.113"]))
                rdoms = [INTERNAL]
                to_ip_out = False
            elif direction < 0.80:      # outbound
                sender = f"{rng.choice(FIRST)}@{INTERNAL}"
                from_ip = ip(rng, "192.0.2")
                rdoms = EXTERNAL
                to_ip_out = True
            else:                       # internal
                sender = f"{rng.choice(FIRST)}@{INTERNAL}"
                from_ip = ip(rng, "192.0.2")
                rdoms = [INTERNAL]
                to_ip_out = False
            g = rng.getrandbits(96)
            trace_id = (f"{g >> 64:08x}-{(g >> 48) & 0xffff:04x}-4{(g >> 36) & 0xfff:03x}-"
                        f"{8 + ((g >> 34) & 3):x}{(g >> 22) & 0xfff:03x}-08de{msg & 0xffffffff:08x}")
            if rng.random() < 0.5:
                message_id = f"<{uuid.UUID(int=rng.getrandbits(128), version=4)}@{sender.split('@')[1]}>"
            else:
                message_id = (f"<CH0PR11MB{rng.randint(1000, 9999)}{rng.getrandbits(48):012X}"
                              f"@CH0PR11MB{rng.randint(1000, 9999)}.namprd11.prod.outlook.com>")
            subject = rng.choice(UNICODE_SUBJECTS) if msg % 10 == 7 else rng.choice(SUBJECTS)
            if rng.random() < 0.3:
                subject = f"{subject} #{msg}"
            size = rng.randint(2_000, 150_000) if rng.random() < 0.95 else rng.randint(150_000, 35_000_000)
            if nrcpt == -1:
                group = f"{rng.choice(GROUPS)}@{INTERNAL}"
                members = rng.sample(FIRST, rng.randint(2, 4))
                rcpts = [(group, "expanded")] + [(f"{m}@{INTERNAL}", None) for m in members]
                to_ip_out = False
            else:
                names = rng.sample(FIRST, nrcpt)
                rcpts = [(f"{nm}@{rng.choice(rdoms)}", None) for nm in names]
            if ms != last_ms:
                last_ms, received = ms, iso(ms, millis)
            head = f'{{"id":"{trace_id}","senderAddress":{es(sender)},'
            mid = (f'"messageId":{es(message_id)},"receivedDateTime":"{received}","subject":{es(subject)},'
                   f'"size":{size},')
            for addr, forced in rcpts:
                if i >= rows:
                    break
                if (trace_id, addr) in keys:
                    continue
                keys.add((trace_id, addr))
                if forced:
                    st = forced
                else:
                    x = rng.random()
                    st = ("delivered" if x < 0.70 else "failed" if x < 0.78 else "pending" if x < 0.85
                          else "quarantined" if x < 0.89 else "filteredAsSpam" if x < 0.95
                          else "gettingStatus")
                if status_case == "pascal" or (status_case == "mixed" and i % 2 == 0):
                    st = st[0].upper() + st[1:]
                to_ip = ip(rng, "203.0.113") if to_ip_out else ""
                records.append((ms, (f'{head}"recipientAddress":{es(addr)},{mid}"fromIP":"{from_ip}",'
                                     f'"toIP":"{to_ip}","status":"{st}"}}').encode("utf-8")))
                i += 1
            msg += 1
        self.messages = msg
        # newest first; rows of one instant keep a fixed order (later generated first)
        records.reverse()
        self.neg_ms = array("q", (-ms for ms, _ in records))
        self.off = array("q", [0] * (rows + 1))
        parts = []
        pos = 0
        for k, (_, b) in enumerate(records):
            self.off[k] = pos
            parts.append(b)
            parts.append(b",")
            pos += len(b) + 1
        self.off[rows] = pos
        self.buf = memoryview(b"".join(parts))
        self.first_ms = -self.neg_ms[-1] if rows else start_ms
        self.last_ms = -self.neg_ms[0] if rows else end_ms
        self.fields_cache: list[dict] | None = None

    def range_for(self, ge_ms: int, le_ms: int) -> tuple[int, int]:
        """Indices [a, b) of the rows with ge_ms <= t <= le_ms (newest first)."""
        a = bisect.bisect_left(self.neg_ms, -le_ms)
        b = bisect.bisect_right(self.neg_ms, -ge_ms)
        return a, max(a, b)

    def slice(self, a: int, b: int) -> memoryview:
        """Rows a..b-1 as 'r,r,r' (no trailing comma)."""
        if b <= a:
            return self.buf[0:0]
        return self.buf[self.off[a]:self.off[b] - 1]

    def row(self, k: int) -> dict:
        return json.loads(bytes(self.buf[self.off[k]:self.off[k + 1] - 1]))


# --------------------------------------------------------------------------------------------------------
# request parsing

DT_RE = r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))"
CLAUSE_RE = re.compile(
    r"\s*(?:(receivedDateTime)\s+(ge|le)\s+" + DT_RE +
    r"|(id|messageId|senderAddress|recipientAddress|status|fromIP|toIP)\s+eq\s+'((?:[^']|'')*)'"
    r"|(contains|startsWith)\(\s*subject\s*,\s*'((?:[^']|'')*)'\s*\))\s*", re.IGNORECASE)


class BadRequest(Exception):
    pass


def parse_dt(text: str) -> int:
    """ISO-8601 with a zone -> epoch ms (fraction truncated to ms)."""
    t = text.upper()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.fullmatch(r"(.*T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?([+-]\d{2}:\d{2})", t)
    if not m:
        raise BadRequest(f"Invalid date time value '{text}'.")
    base = m.group(1) + ("" if m.group(1).count(":") == 2 else ":00")
    try:
        dt = datetime.fromisoformat(base + m.group(3))
    except ValueError:
        raise BadRequest(f"Invalid date time value '{text}'.")
    frac = (m.group(2) or "0")[:3].ljust(3, "0")
    return int(dt.timestamp()) * 1000 + int(frac)


def parse_filter(text: str):
    """-> (ge_ms|None, le_ms|None, [(field, op, value)]).  Clauses joined by 'and'."""
    ge = le = None
    extra = []
    pieces = re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)
    for p in pieces:
        m = CLAUSE_RE.fullmatch(p)
        if not m:
            raise BadRequest(f"Invalid filter clause: '{p}'.")
        if m.group(1):
            v = parse_dt(m.group(3))
            if m.group(2).lower() == "ge":
                if ge is not None:
                    raise BadRequest("receivedDateTime ge is given twice.")
                ge = v
            else:
                if le is not None:
                    raise BadRequest("receivedDateTime le is given twice.")
                le = v
        elif m.group(4):
            extra.append((m.group(4), "eq", m.group(5).replace("''", "'")))
        else:
            extra.append(("subject", m.group(6).lower(), m.group(7).replace("''", "'")))
    return ge, le, extra


def extra_match(row: dict, extra) -> bool:
    for field, op, value in extra:
        key = {k.lower(): k for k in row}[field.lower()]
        v = row.get(key)
        v = "" if v is None else str(v)
        if op == "eq":
            if v.lower() != value.lower():
                return False
        elif op == "contains":
            if value.lower() not in v.lower():
                return False
        elif op == "startswith":
            if not v.lower().startswith(value.lower()):
                return False
    return True


# --------------------------------------------------------------------------------------------------------
# server


class FakeGraph:
    def __init__(self, data: TraceData, args):
        self.data = data
        self.args = args
        self.tokens: dict[str, tuple[float, str]] = {}      # token -> (expires at, audience)
        self.lock = threading.Lock()
        self.key = hashlib.sha256(f"fake-graph-{args.seed}-{secrets.token_hex(8)}".encode()).digest()
        self.quota_times: deque[float] = deque()
        self.requests = 0
        self.pages = 0
        self.rows_served = 0

    # skip token: base64url(ge|le|next-index|top|extra-hash) + 10-byte HMAC; opaque to clients
    def make_skiptoken(self, ge: int, le: int, nxt: int, top: int, fhash: str) -> str:
        body = f"{ge}|{le}|{nxt}|{top}|{fhash}".encode()
        mac = hmac.new(self.key, body, hashlib.sha256).digest()[:10]
        return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")

    def read_skiptoken(self, tok: str):
        try:
            raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
            body, mac = raw[:-10], raw[-10:]
            if not hmac.compare_digest(mac, hmac.new(self.key, body, hashlib.sha256).digest()[:10]):
                raise ValueError
            ge, le, nxt, top, fhash = body.decode().split("|")
            return int(ge), int(le), int(nxt), int(top), fhash
        except Exception:
            raise BadRequest("Invalid $skiptoken.")

    def quota_ok(self) -> float:
        """0 when the request may run, else seconds to wait."""
        if self.args.quota <= 0:
            return 0
        now = time.monotonic()
        with self.lock:
            q = self.quota_times
            while q and q[0] <= now - self.args.quota_period:
                q.popleft()
            if len(q) >= self.args.quota:
                return max(1.0, q[0] + self.args.quota_period - now)
            q.append(now)
            return 0


def graph_error(code: str, message: str, client_request_id: str | None) -> tuple[bytes, str]:
    rid = str(uuid.uuid4())
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": rid, "client-request-id": client_request_id or rid}}}
    return json.dumps(body).encode(), rid


def aad_error(error: str, code: int, description: str) -> bytes:
    now = datetime.now(timezone.utc)
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    return json.dumps({
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} "
                             f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
        "error_codes": [code], "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace, "correlation_id": corr}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-graph"
    sys_version = ""
    fake: FakeGraph = None  # set on the subclass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *a):
        if self.fake.args.verbose:
            sys.stderr.write("%s %s\n" % (datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3], fmt % a))

    def send_body(self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_graph_error(self, status: int, code: str, message: str, headers: dict | None = None):
        body, rid = graph_error(code, message, self.headers.get("client-request-id"))
        h = {"request-id": rid}
        h.update(headers or {})
        self.send_body(status, body, "application/json", h)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # ---------------------------------------------------------------- token
    def do_POST(self):
        body = self.drain()
        path = urllib.parse.urlsplit(self.path).path
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        if not m:
            self.send_graph_error(404, "NotFound", f"No route for POST {path}.")
            return
        args = self.fake.args
        if args.tenant and m.group(1) != args.tenant:
            self.send_body(400, aad_error("invalid_request", 90002, f"Tenant '{m.group(1)}' not found."))
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            self.send_body(400, aad_error("invalid_request", 900144,
                                          "The request body must contain the following parameter: 'grant_type'."))
            return
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                                           keep_blank_values=True).items()}
        # client_secret_basic is allowed too
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic ") and "client_id" not in form:
            try:
                cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
                form["client_id"] = urllib.parse.unquote_plus(cid)
                form["client_secret"] = urllib.parse.unquote_plus(sec)
            except Exception:
                pass
        if form.get("grant_type") != "client_credentials":
            self.send_body(400, aad_error("unsupported_grant_type", 70003,
                                          "The app requested an unsupported grant type."))
            return
        scope = form.get("scope", "")
        if not scope:
            self.send_body(400, aad_error("invalid_request", 900144,
                                          "The request body must contain the following parameter: 'scope'."))
            return
        if not scope.endswith("/.default") or " " in scope.strip():
            self.send_body(400, aad_error("invalid_scope", 1002012,
                                          f"The provided value for scope {scope} is not valid. Client credential "
                                          f"flows must have a scope value with /.default suffixed to the resource "
                                          f"identifier (application ID URI)."))
            return
        if form.get("client_id") != args.client_id:
            self.send_body(400, aad_error("unauthorized_client", 700016,
                                          f"Application with identifier '{form.get('client_id')}' was not found in "
                                          f"the directory."))
            return
        if form.get("client_secret") != args.client_secret:
            self.send_body(401, aad_error("invalid_client", 7000215,
                                          "Invalid client secret provided. Ensure the secret being sent in the "
                                          "request is the client secret value, not the client secret ID."))
            return
        audience = scope[: -len("/.default")].rstrip("/")
        header = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"RS256","x5t":"FAKE"}').rstrip(b"=").decode()
        claims = base64.urlsafe_b64encode(json.dumps(
            {"aud": audience, "tid": m.group(1), "appid": args.client_id, "roles": ["ExchangeMessageTrace.Read.All"],
             "jti": secrets.token_hex(8)}).encode()).rstrip(b"=").decode()
        token = f"{header}.{claims}.{secrets.token_urlsafe(32)}"
        with self.fake.lock:
            now = time.time()
            for t in [t for t, (exp, _) in self.fake.tokens.items() if exp < now - 3600]:
                del self.fake.tokens[t]
            self.fake.tokens[token] = (now + args.token_ttl, audience)
        reply = {"token_type": "Bearer", "expires_in": int(args.token_ttl), "ext_expires_in": int(args.token_ttl),
                 "access_token": token}
        self.send_body(200, json.dumps(reply).encode(), "application/json; charset=utf-8",
                       {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    # ---------------------------------------------------------------- traces
    def do_GET(self):
        self.drain()
        fake = self.fake
        data = fake.data
        split = urllib.parse.urlsplit(self.path)
        if split.path.rstrip("/") != LIST_PATH:
            self.send_graph_error(400, "BadRequest", f"Resource not found for the segment "
                                                     f"'{split.path.rstrip('/').split('/')[-1]}'.")
            return
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self.send_graph_error(401, "InvalidAuthenticationToken", "Access token is empty.",
                                  {"WWW-Authenticate": 'Bearer realm="", authorization_uri='
                                                       '"https://login.microsoftonline.com/common/oauth2/authorize"'})
            return
        with fake.lock:
            entry = fake.tokens.get(auth[7:].strip())
        if entry is None:
            self.send_graph_error(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
            return
        if entry[0] < time.time():
            self.send_graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            return
        if entry[1] != GRAPH_RESOURCE and entry[1] != "00000003-0000-0000-c000-000000000000":
            self.send_graph_error(401, "InvalidAuthenticationToken", "Invalid audience.")
            return
        wait = fake.quota_ok()
        if wait:
            self.send_graph_error(429, "TooManyRequests", "Too many requests. Please retry after the time specified "
                                                          "in the Retry-After header.",
                                  {"Retry-After": str(int(wait + 0.999))})
            return
        try:
            self.list_traces(split.query)
        except BadRequest as e:
            self.send_graph_error(400, "BadRequest", str(e))

    def list_traces(self, query: str):
        fake = self.fake
        data = fake.data
        q: dict[str, str] = {}
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            k = k.lower()
            if k in q:
                raise BadRequest(f"Query option '{k}' was specified more than once.")
            q[k] = v
        top_text = q.get("$top")
        if top_text is None:
            top = DEFAULT_TOP
        else:
            if not re.fullmatch(r"\d+", top_text.strip()):
                raise BadRequest(f"Invalid value '{top_text}' for $top query option.")
            top = int(top_text)
            if not 1 <= top <= MAX_TOP:
                raise BadRequest(f"The $top value must be between 1 and {MAX_TOP}.")
        now_ms = int(time.time() * 1000)
        ftext = q.get("$filter")
        if ftext is None or not ftext.strip():
            ge, le, extra = now_ms - DEFAULT_PERIOD_S * 1000, now_ms, []
        else:
            ge, le, extra = parse_filter(ftext)
            if ge is None or le is None:
                raise BadRequest("Both receivedDateTime ge and receivedDateTime le must be specified.")
        if le < ge:
            raise BadRequest("receivedDateTime ge must be earlier than receivedDateTime le.")
        if le - ge > MAX_SPAN_S * 1000:
            raise BadRequest("The time range between receivedDateTime ge and receivedDateTime le must not "
                             "exceed 10 days.")
        if ge < now_ms - MAX_AGE_S * 1000:
            raise BadRequest("The receivedDateTime ge value must not be older than 90 days.")
        if le > now_ms + fake.args.future_slack * 1000:
            raise BadRequest("The receivedDateTime le value must not be later than the current time.")
        fhash = hashlib.sha256(repr(extra).encode()).hexdigest()[:12]
        a, b = data.range_for(ge, le)
        tok = q.get("$skiptoken")
        if tok is not None:
            tge, tle, nxt, ttop, thash = fake.read_skiptoken(tok)
            if (tge, tle, thash) != (ge, le, fhash):
                raise BadRequest("The $skiptoken does not belong to this query.")
            a = max(a, min(nxt, b))
        if extra:
            rows = []
            k = a
            while k < b and len(rows) < top:
                if extra_match(data.row(k), extra):
                    rows.append(bytes(data.buf[data.off[k]:data.off[k + 1] - 1]))
                k += 1
            body_rows = b",".join(rows)
            nxt = k
            # any match left?
            more = any(extra_match(data.row(j), extra) for j in range(k, b)) if k < b else False
            count = len(rows)
        else:
            e = min(b, a + top)
            body_rows = data.slice(a, e)
            nxt = e
            more = e < b
            count = e - a
        parts = [b'{"@odata.context":"', CONTEXT.encode(), b'","value":[', body_rows, b"]"]
        if more:
            link_q = []
            if ftext is not None:
                link_q.append("$filter=" + urllib.parse.quote_plus(ftext, safe=":"))
            if top_text is not None:
                link_q.append(f"$top={top}")
            link_q.append("$skiptoken=" + fake.make_skiptoken(ge, le, nxt, top, fhash))
            link = fake.args.public_url.rstrip("/") + LIST_PATH + "?" + "&".join(link_q)
            parts.append(b',"@odata.nextLink":' + json.dumps(link).encode())
        parts.append(b"}")
        body = b"".join(parts)
        with fake.lock:
            fake.pages += 1
            fake.rows_served += count
        self.send_body(200, body,
                       "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
                       "charset=utf-8",
                       {"request-id": str(uuid.uuid4()), "OData-Version": "4.0"})

    def do_HEAD(self):
        self.drain()
        self.send_graph_error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")

    def do_PUT(self):
        self.do_HEAD()

    do_DELETE = do_PATCH = do_PUT


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    allow_reuse_address = True


def build(args) -> tuple[Server, FakeGraph]:
    t0 = time.time()
    start_ms = int((t0 - args.from_ago) * 1000)
    end_ms = int((t0 - args.to_ago) * 1000)
    if end_ms < start_ms:
        raise SystemExit("--to-ago must be smaller than --from-ago")
    data = TraceData(args.rows, start_ms, end_ms, args.seed, args.millis, args.status_case)
    handler = type("BoundHandler", (Handler,), {})
    server = Server((args.host, args.port), handler)
    if not args.public_url:
        args.public_url = f"http://{args.host}:{server.server_address[1]}"
    fake = FakeGraph(data, args)
    handler.fake = fake
    args.build_seconds = time.time() - t0
    return server, fake


def banner(args, fake: FakeGraph) -> str:
    d = fake.data
    base = args.public_url.rstrip("/")
    tenant = args.tenant or "<any-tenant>"
    return (f"fake_graph: base {base}/v1.0 token {base}/{tenant}/oauth2/v2.0/token "
            f"client_id {args.client_id} client_secret {args.client_secret} rows {d.n} ({d.messages} messages) "
            f"received {iso(d.first_ms, True)} .. {iso(d.last_ms, True)} seed {args.seed} "
            f"(built in {args.build_seconds:.1f}s)")


# --------------------------------------------------------------------------------------------------------
# self-test


def self_test(args) -> int:
    args.port = 0
    args.host = "127.0.0.1"
    args.public_url = ""
    server, fake = build(args)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = args.public_url
    tenant = args.tenant or "contoso-test"
    print(banner(args, fake), flush=True)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL", what, flush=True)

    def call(url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def token(secret=args.client_secret, scope="https://graph.microsoft.com/.default"):
        form = urllib.parse.urlencode({"client_id": args.client_id, "client_secret": secret,
                                       "grant_type": "client_credentials", "scope": scope}).encode()
        return call(f"{base}/{tenant}/oauth2/v2.0/token", form,
                    {"Content-Type": "application/x-www-form-urlencoded"})

    st, _, body = token()
    check(st == 200, f"token status {st}")
    tr = json.loads(body)
    check(tr.get("token_type") == "Bearer" and tr.get("expires_in") == 3599 and tr.get("access_token"), "token reply")
    auth = {"Authorization": "Bearer " + tr["access_token"]}
    st, _, body = token(secret="wrong")
    check(st == 401 and json.loads(body)["error"] == "invalid_client", f"wrong secret -> {st}")

    def fmt(ms):
        return iso(ms, False)

    def fetch(ge_ms, le_ms, top):
        url = (base + LIST_PATH + "?" + urllib.parse.urlencode(
            {"$filter": f"receivedDateTime ge {fmt(ge_ms)} and receivedDateTime le {fmt(le_ms)}", "$top": top}))
        got, pages = [], 0
        while url:
            st, _, body = call(url, headers=auth)
            if st != 200:
                check(False, f"page status {st}: {body[:200]!r}")
                return got, pages
            page = json.loads(body)
            check(page.get("@odata.context") == CONTEXT, "@odata.context")
            check(len(page["value"]) <= top, "page larger than $top")
            got.extend(page["value"])
            pages += 1
            url = page.get("@odata.nextLink")
            if url:
                check(url.startswith(base + LIST_PATH + "?"), "nextLink absolute")
        return got, pages

    d = fake.data
    everything = [d.row(k) for k in range(d.n)]
    all_keys = [(r["id"], r["recipientAddress"]) for r in everything]
    check(len(set(all_keys)) == d.n, "(id, recipientAddress) unique in the data")
    check(sum(1 for r in everything if any(ord(c) > 127 for c in r["subject"])) > 0, "non-ASCII subjects present")
    statuses = {r["status"].lower() for r in everything}
    check(statuses >= {s.lower() for s in STATUSES_CAMEL}, f"all statuses present: {sorted(statuses)}")

    def expected(ge_ms, le_ms):
        out = []
        for r in everything:
            t = parse_dt(r["receivedDateTime"])
            if ge_ms <= t <= le_ms:
                out.append((r["id"], r["recipientAddress"]))
        return out

    # 1. one window over all rows, whole-second bounds, odd page size
    ge_ms = d.first_ms - d.first_ms % 1000
    le_ms = d.last_ms - d.last_ms % 1000 + 1000
    got, pages = fetch(ge_ms, le_ms, 997)
    keys = [(r["id"], r["recipientAddress"]) for r in got]
    check(len(keys) == d.n and len(set(keys)) == d.n, f"full window: {len(keys)} rows, {len(set(keys))} distinct, "
                                                       f"want {d.n}")
    check(set(keys) == set(all_keys), "full window: same keys as the data")
    times = [parse_dt(r["receivedDateTime"]) for r in got]
    check(all(times[k] >= times[k + 1] for k in range(len(times) - 1)), "newest first")
    print(f"full window: {len(keys)} rows in {pages} pages", flush=True)
    # 2. adjacent windows sharing a whole-second bound: rows on the bound come in both
    mid = (ge_ms + (le_ms - ge_ms) // 2) // 1000 * 1000
    g1, _ = fetch(ge_ms, mid, 5000)
    g2, _ = fetch(mid, le_ms, 5000)
    for g, lo, hi in ((g1, ge_ms, mid), (g2, mid, le_ms)):
        ks = [(r["id"], r["recipientAddress"]) for r in g]
        check(sorted(ks) == sorted(expected(lo, hi)), f"window {fmt(lo)}..{fmt(hi)}: exactly the rows inside")
        check(len(ks) == len(set(ks)), "no row twice in one window")
    # 3. errors
    def status_of(q, hdrs=auth):
        st, h, body = call(base + LIST_PATH + "?" + urllib.parse.urlencode(q), headers=hdrs)
        return st, body

    now = int(time.time()) * 1000
    st, body = status_of({"$filter": f"receivedDateTime ge {fmt(now - 11 * 86400000)} and receivedDateTime le "
                                     f"{fmt(now - 3600000)}"})
    check(st == 400 and json.loads(body)["error"]["code"] == "BadRequest", f"> 10 days -> {st}")
    st, _ = status_of({"$filter": f"receivedDateTime ge {fmt(now - 91 * 86400000)} and receivedDateTime le "
                                  f"{fmt(now - 85 * 86400000)}"})
    check(st == 400, f"> 90 days -> {st}")
    st, _ = status_of({"$filter": f"receivedDateTime ge {fmt(now - 3600000)} and receivedDateTime le "
                                  f"{fmt(now + 3600000)}"})
    check(st == 400, f"end in the future -> {st}")
    st, _ = status_of({"$filter": f"receivedDateTime ge {fmt(now - 3600000)}"})
    check(st == 400, f"one bound -> {st}")
    st, _ = status_of({"$top": "5001"})
    check(st == 400, f"$top 5001 -> {st}")
    st, body = status_of({"$top": "10"}, {})
    check(st == 401 and json.loads(body)["error"]["code"] == "InvalidAuthenticationToken", f"no token -> {st}")
    st, _ = status_of({"$top": "10"}, {"Authorization": "Bearer not-a-token"})
    check(st == 401, f"unknown token -> {st}")
    st, body = status_of({"$top": "3"})
    check(st == 200 and len(json.loads(body)["value"]) <= 3, f"no filter (48 h default) -> {st}")
    st, _, body = token(scope="https://outlook.office365.com/.default")
    st, _ = status_of({"$top": "3"}, {"Authorization": "Bearer " + json.loads(body)["access_token"]})
    check(st == 401, f"token for another audience -> {st}")
    # 4. an eq filter
    one = everything[len(everything) // 2]
    url = base + LIST_PATH + "?" + urllib.parse.urlencode({"$filter": (
        f"receivedDateTime ge {fmt(ge_ms)} and receivedDateTime le {fmt(le_ms)} and id eq '{one['id']}'")})
    st, _, body = call(url, headers=auth)
    ids = {r["id"] for r in json.loads(body)["value"]} if st == 200 else set()
    check(st == 200 and ids == {one["id"]}, f"id eq filter -> {st} {ids}")
    # 5. speed: pages of 5000
    t0 = time.time()
    n = 0
    got, pages = fetch(ge_ms, le_ms, 5000)
    n = len(got)
    dt = time.time() - t0
    print(f"read {n} rows in {pages} pages of 5000 in {dt:.2f}s ({n / dt:,.0f} rows/s incl. json parsing)",
          flush=True)
    server.shutdown()
    print("self-test:", "FAILED " + "; ".join(failures) if failures else "OK", flush=True)
    return 1 if failures else 0


# --------------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Independent fake of Graph GET /v1.0/admin/exchange/tracing/messageTraces "
                                            "plus the Entra ID v2 token endpoint.")
    p.add_argument("--rows", type=int, default=None, help="rows to generate (default 300000; 20000 in --self-test)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--from-ago", type=duration, default=duration("2d"), help="oldest row, before start (2d)")
    p.add_argument("--to-ago", type=duration, default=duration("20m"), help="newest row, before start (20m)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--public-url", default="", help="base of the nextLinks (default http://host:port)")
    p.add_argument("--tenant", default="", help="only this tenant in the token path (default: any)")
    p.add_argument("--client-id", default="11111111-2222-4333-8444-555555555555")
    p.add_argument("--client-secret", default="fake-graph-secret")
    p.add_argument("--token-ttl", type=int, default=3599, help="expires_in of tokens, seconds (3599)")
    p.add_argument("--millis", action="store_true", help="receivedDateTime with .fff (default whole seconds)")
    p.add_argument("--status-case", choices=["camel", "pascal", "mixed"], default="camel",
                   help="status values as in Graph's docs (camel: delivered, filteredAsSpam), PascalCase, or both")
    p.add_argument("--future-slack", type=float, default=0.0,
                   help="seconds an le bound may lie in the future before 400 (0)")
    p.add_argument("--quota", type=int, default=0, help="list requests per --quota-period, then 429 (0 = off)")
    p.add_argument("--quota-period", type=float, default=300.0)
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.add_argument("--self-test", action="store_true", help="serve on a free port, check paging, exit 0/1")
    args = p.parse_args(argv)
    if args.rows is None:
        args.rows = 20_000 if args.self_test else 300_000
    if args.rows < 0:
        p.error("--rows must be >= 0")
    if args.self_test:
        return self_test(args)
    server, fake = build(args)
    print(banner(args, fake), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.verbose:
            sys.stderr.write(f"pages {fake.pages} rows {fake.rows_served}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
