"""The named mock of the regional FHIR server (the one seam with no real part here).

A real HTTP server in a thread. ``POST /fhir/$submit-measurement`` takes FUT Parameters with
a transaction Bundle, validates every resource against the R4B models, and does what a FHIR
server does with ``ifNoneExist``: creates a resource only when no resource has that
identifier yet. ``script`` injects failures, one per request, in order:

- ``500``/``503``: answer 5xx without storing anything;
- ``timeout``: store nothing, answer only after the client has given up;
- ``drop``: close the connection without an answer;
- ``commit-then-500`` / ``commit-then-drop``: store, then fail -- the client cannot know it
  succeeded, so its resend must be recognised as the same resource;
- ``400``: refuse (a client error: never retried).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse


@dataclass
class RegionalServer:
    timeout_sleep: float = 1.5
    delay: float = 0.0
    script: deque[str] = field(default_factory=deque)
    requests: list[list[str]] = field(default_factory=list)  # identifiers per request
    created: Counter[str] = field(default_factory=Counter)  # identifier -> creations
    # identifier -> every create the server was asked to do and got as far as storing
    # (conditional or not): a server that ignored ifNoneExist would create each of them
    create_attempts: Counter[str] = field(default_factory=Counter)
    # identifiers of requests stored but whose answer the client never got (commit-then-*)
    answer_lost: set[str] = field(default_factory=set)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    def posts_per_identifier(self) -> Counter[str]:
        with self.lock:
            return Counter(i for request in self.requests for i in request)

    def start(self) -> RegionalServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # buffered: headers and body leave in one segment (no Nagle/delayed-ACK stall)
            wbufsize = 1 << 16

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                expected = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(expected)
                if len(body) < expected:
                    # the client died mid-request (kill -9): a real server never sees a
                    # complete request, so nothing is stored and nothing is answered
                    self.close_connection = True
                    return None
                if self.path != "/fhir/$submit-measurement":
                    return self._answer(
                        404,
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "not-found"}],
                        },
                    )
                with server.lock:
                    action = server.script.popleft() if server.script else "ok"
                if server.delay:
                    time.sleep(server.delay)
                try:
                    entries = server._parse(body)
                except Exception as exc:
                    server.invalid.append(repr(exc)[:500])
                    return self._answer(
                        400,
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "invalid"}],
                        },
                    )
                identifiers = [identifier for identifier, _ in entries]
                with server.lock:
                    server.requests.append(identifiers)
                if action in ("500", "503"):
                    return self._answer(
                        int(action),
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "transient"}],
                        },
                    )
                if action == "400":
                    return self._answer(
                        400,
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "business-rule"}],
                        },
                    )
                if action == "timeout":
                    time.sleep(server.timeout_sleep)
                    return self._drop()
                if action == "drop":
                    return self._drop()
                statuses = server._store(entries)
                if action.startswith("commit-then-"):
                    with server.lock:
                        server.answer_lost.update(identifiers)
                if action == "commit-then-500":
                    return self._answer(
                        500,
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "exception"}],
                        },
                    )
                if action == "commit-then-drop":
                    return self._drop()
                return self._answer(
                    200,
                    {
                        "resourceType": "Bundle",
                        "type": "transaction-response",
                        "entry": [{"response": {"status": s}} for s in statuses],
                    },
                )

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _parse(self, body: bytes) -> list[tuple[str, dict[str, Any]]]:
        document = json.loads(body)
        Parameters.model_validate(document)
        (parameter,) = document["parameter"]
        assert parameter["name"] == "measurement"
        bundle = parameter["resource"]
        assert bundle["type"] == "transaction"
        entries = []
        for entry in bundle["entry"]:
            request, resource = entry["request"], entry["resource"]
            assert request["method"] == "POST" and request["url"] == resource["resourceType"]
            if resource["resourceType"] == "Observation":
                Observation.model_validate(resource)
            else:
                QuestionnaireResponse.model_validate(resource)
            identifier = unquote(request["ifNoneExist"].removeprefix("identifier="))
            identifiers = resource["identifier"]
            values = [
                i["value"]
                for i in (identifiers if isinstance(identifiers, list) else [identifiers])
            ]
            assert identifier in values, "conditional create must match the resource"
            entries.append((identifier, resource))
        return entries

    def _store(self, entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
        statuses = []
        with self.lock:
            for identifier, resource in entries:
                self.create_attempts[identifier] += 1
                if identifier in self.resources:
                    statuses.append("200 OK")  # ifNoneExist matched: nothing created
                    continue
                self.resources[identifier] = resource
                self.created[identifier] += 1
                statuses.append("201 Created")
        return statuses
