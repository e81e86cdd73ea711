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

Strict like FUT (options, all on by default except where FUT itself is lenient):

- ``honour_if_none_exist`` (default True): False = ignore ``ifNoneExist`` and create anyway,
  as a server that does not declare conditional create may; ``created`` counts every create;
- ``capability``: what ``GET /fhir/metadata`` declares (default FUT 8.0.0's measurement
  server: conditional create for QuestionnaireResponse, not for Observation);
- ``strict_codes`` (default True): 422 for a code, component code or unit outside the IG's
  ValueSet and ConceptMap (copied under ``tests/data/fut``), and for ``entered-in-error``;
- ``oauth`` (a :class:`TokenService`, default on): FUT's Keycloak token endpoint as the
  reference clients use it (``POST /auth/realms/ehealth/protocol/openid-connect/token``:
  password login, then ``refresh_token`` grants carrying ``patient_id`` and
  ``episode_of_care_id``); every FHIR request needs one of its unexpired tokens (401 otherwise),
  and a measurement request needs one scoped to the submission's patient and episode;
  ``oauth=None`` turns authentication off;
- ``GET /fhir/{Observation,QuestionnaireResponse}?identifier=system|value`` searches;
  ``POST /fhir/ClinicalImpression/$set-measurement-validity`` records the Observation or
  QuestionnaireResponse it names in ``invalidated``;
- FUT's device service at the same base: ``GET /fhir/Device?identifier=…``, ``POST
  /fhir/Device`` with ``If-None-Exist`` (honoured: the device service declares it);
  ``strict_devices`` (default True): 422 for an Observation whose ``device`` is not a literal
  reference to a Device it holds.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fhir.resources.R4B.clinicalimpression import ClinicalImpression
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

FUT_DATA = Path(__file__).resolve().parents[2] / "data" / "fut"
TOKEN_PATH = "/auth/realms/ehealth/protocol/openid-connect/token"
CLIENT_ID = "pust-bridge"
CLIENT_SECRET = "bridge-client-secret"
USERNAME = "pust-system-user"
PASSWORD = "bridge-user-password"
CONTEXT_PARAMETERS = ("organization_id", "care_team_id", "patient_id", "episode_of_care_id")


@dataclass
class TokenService:
    """FUT's token endpoint, strict: a confidential client, the password grant (scope must
    include ``openid``), refresh tokens that scope the next access token to the context given
    as form parameters; tokens expire after ``lifetime`` seconds of ``now()``."""

    now: Callable[[], float] = time.time
    lifetime: int = 300
    session_lifetime: int = 1800
    # access token -> (context, expires at); refresh token -> expires at
    access: dict[str, tuple[dict[str, str], float]] = field(default_factory=dict)
    refresh: dict[str, float] = field(default_factory=dict)
    grants: Counter[str] = field(default_factory=Counter)  # grant_type -> answered
    contexts: list[tuple[str, str]] = field(default_factory=list)  # (patient, episode) issued
    _serial: int = 0

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        now = self.now()
        kind = form.get("grant_type")
        if kind == "password":
            if (form.get("username"), form.get("password")) != (USERNAME, PASSWORD):
                return 401, {"error": "invalid_grant"}
            if "openid" not in form.get("scope", "").split():
                return 400, {"error": "invalid_scope"}
            context: dict[str, str] = {}
        elif kind == "refresh_token":
            expires = self.refresh.pop(form.get("refresh_token", ""), None)
            if expires is None or expires <= now:
                return 400, {"error": "invalid_grant"}
            context = {k: form[k] for k in CONTEXT_PARAMETERS if form.get(k)}
            if "patient_id" in context and "episode_of_care_id" in context:
                self.contexts.append((context["patient_id"], context["episode_of_care_id"]))
        else:
            return 400, {"error": "unsupported_grant_type"}
        self._serial += 1
        access, refresh = f"at-{self._serial}", f"rt-{self._serial}"  # rotated every time
        self.access[access] = (context, now + self.lifetime)
        self.refresh[refresh] = now + self.session_lifetime
        self.grants[kind] += 1
        return 200, {
            "access_token": access,
            "expires_in": self.lifetime,
            "refresh_token": refresh,
            "token_type": "Bearer",
        }

    def context_of(self, token: str) -> dict[str, str] | None:
        held = self.access.get(token)
        if held is None or held[1] <= self.now():
            return None
        return held[0]


def fut_capability(conditional: dict[str, bool] | None = None) -> dict[str, Any]:
    declared = conditional or {"Observation": False, "QuestionnaireResponse": True}
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [{"type": t, "conditionalCreate": c} for t, c in declared.items()],
            }
        ],
    }


def _allowed_codes() -> set[tuple[str, str]]:
    document = json.loads((FUT_DATA / "ValueSet-ehealth-observation-codes.json").read_text())
    return {
        (include["system"], concept["code"])
        for include in document["compose"]["include"]
        for concept in include.get("concept", ())
    }


_UNITS = {
    ("urn:oid:1.2.208.176.2.1", "DNK05472"): "mm[Hg]",
    ("urn:oid:1.2.208.176.2.1", "DNK05473"): "mm[Hg]",
    ("urn:oid:1.2.208.176.2.1", "NPU03011"): "%",
    ("urn:oid:1.2.208.176.2.1", "NPU21692"): "1/min",
    ("urn:oid:1.2.208.176.2.1", "NPU03804"): "kg",
    ("urn:oid:1.2.208.176.2.1", "NPU08676"): "Cel",
    ("urn:oid:1.2.208.184.100.8", "MCS88015"): "L",
    ("urn:oid:1.2.208.184.100.8", "MCS88016"): "L",
    ("urn:oid:1.2.208.184.100.8", "MCS88050"): "1/30sec",
}  # FUT's conceptmap-obs-code-to-ucum for the codes pust can send


def _coding_errors(resource: dict[str, Any], allowed: set[tuple[str, str]]) -> list[str]:
    errors = []
    if resource.get("status") == "entered-in-error":
        errors.append("entered-in-error is not a measurement")
    if resource["resourceType"] != "Observation":
        return errors
    parts = [resource, *resource.get("component", [])]
    for part in parts:
        codings = part.get("code", {}).get("coding", [])
        ours = [(c.get("system"), c.get("code")) for c in codings]
        if not ours or any(c not in allowed for c in ours):
            errors.append(f"code outside observation-codes: {ours}")
        quantity = part.get("valueQuantity")
        if (
            quantity is not None
            and ours
            and ours[0] in _UNITS
            and quantity.get("code") != _UNITS[ours[0]]
        ):
            errors.append(f"unit {quantity.get('code')} for {ours[0]}")
    return errors


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
    honour_if_none_exist: bool = True
    capability: dict[str, Any] = field(default_factory=fut_capability)
    strict_codes: bool = True
    oauth: TokenService | None = field(default_factory=TokenService)
    refused: list[str] = field(default_factory=list)  # reasons of 401/422 answers
    ids: dict[str, str] = field(default_factory=dict)  # identifier -> server id
    invalidated: list[str] = field(default_factory=list)  # Observation references
    # FUT's device service: "system|value" -> Device id; every create it was asked to do
    devices: dict[str, str] = field(default_factory=dict)
    device_creates: Counter[str] = field(default_factory=Counter)
    device_searches: int = 0
    strict_devices: bool = True  # 422 for an Observation whose device is not a known Device
    searches: int = 0
    _allowed: set[tuple[str, str]] = field(default_factory=_allowed_codes)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    @property
    def token_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{TOKEN_PATH}"

    def oauth_settings(self) -> dict[str, str]:
        """The bridge's settings (``BridgeSettings`` field names) for this token endpoint."""
        return {
            "token_url": self.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "token_username": USERNAME,
            "token_password": PASSWORD,
        }

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

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if not self._authenticated():
                    return self._refuse(401, "no valid token")
                if parts.path == "/fhir/metadata":
                    return self._answer(200, server.capability)
                if parts.path == "/fhir/Device":
                    (token,) = parse_qs(parts.query).get("identifier", [""])
                    with server.lock:
                        server.device_searches += 1
                        device_id = server.devices.get(token)
                    entries = (
                        [
                            {
                                "fullUrl": f"{server.base_url}/Device/{device_id}",
                                "resource": {"resourceType": "Device", "id": device_id},
                            }
                        ]
                        if device_id
                        else []
                    )
                    return self._answer(
                        200, {"resourceType": "Bundle", "type": "searchset", "entry": entries}
                    )
                if parts.path not in ("/fhir/Observation", "/fhir/QuestionnaireResponse"):
                    return self._answer(404, {"resourceType": "OperationOutcome", "issue": []})
                if not self._authorised_for_some_episode():
                    return self._refuse(401, "token outside the patient/episode context")
                (token,) = parse_qs(parts.query).get("identifier", [""])
                value = token.split("|", 1)[-1]
                with server.lock:
                    server.searches += 1
                    resource = server.resources.get(value)
                    found = resource is not None and _identifier(resource) == token
                    server_id = server.ids.get(value)
                entries = []
                if found:
                    assert resource is not None
                    entries.append(
                        {
                            "fullUrl": f"{server.base_url}/{resource['resourceType']}/{server_id}",
                            "resource": {
                                **resource,
                                "id": server_id,
                                "meta": {"versionId": "1"},
                            },
                        }
                    )
                return self._answer(
                    200,
                    {
                        "resourceType": "Bundle",
                        "type": "searchset",
                        "total": len(entries),
                        "entry": entries,
                    },
                )

            def _refuse(self, status: int, reason: str) -> None:
                with server.lock:
                    server.refused.append(reason)
                code = "login" if status == 401 else "processing"
                return self._answer(
                    status,
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": code}],
                    },
                )

            def _context(self) -> dict[str, str] | None:
                assert server.oauth is not None
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with server.lock:
                    return server.oauth.context_of(token)

            def _authenticated(self) -> bool:
                return server.oauth is None or self._context() is not None

            def _authorised(self, patient: str, episode: str) -> bool:
                if server.oauth is None:
                    return True
                context = self._context()
                return context is not None and (
                    context.get("patient_id"),
                    context.get("episode_of_care_id"),
                ) == (patient, episode)

            def _authorised_for_some_episode(self) -> bool:
                if server.oauth is None:
                    return True
                context = self._context() or {}
                return bool(context.get("patient_id") and context.get("episode_of_care_id"))

            def _token(self, body: bytes) -> None:
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                if server.oauth is None:
                    return self._answer(404, {"error": "not_found"})
                with server.lock:
                    status, answer = server.oauth.grant(form)
                return self._answer(status, answer, "application/json")

            def do_POST(self) -> None:
                expected = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(expected)
                if len(body) < expected:
                    # the client died mid-request (kill -9): a real server never sees a
                    # complete request, so nothing is stored and nothing is answered
                    self.close_connection = True
                    return None
                if self.path == TOKEN_PATH:
                    return self._token(body)
                if not self._authenticated():
                    return self._refuse(401, "no valid token")
                if self.path == "/fhir/ClinicalImpression/$set-measurement-validity":
                    return self._validity(body)
                if self.path == "/fhir/Device":
                    return self._device(body)
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
                for _, resource in entries:
                    episode = next(
                        (
                            e["valueReference"]["reference"]
                            for e in resource.get("extension", [])
                            if e["url"].endswith("workflow-episodeOfCare")
                        ),
                        "",
                    )
                    if not self._authorised(resource["subject"]["reference"], episode):
                        return self._refuse(401, "token outside the patient/episode context")
                    if server.strict_codes:
                        errors = _coding_errors(resource, server._allowed)
                        if errors:
                            return self._refuse(422, "; ".join(errors))
                    if server.strict_devices and resource["resourceType"] == "Observation":
                        reference = resource.get("device", {}).get("reference")
                        with server.lock:
                            known = {
                                f"{server.base_url}/Device/{i}" for i in server.devices.values()
                            }
                        if reference not in known:
                            return self._refuse(422, "device not a referenced ehealth-device")
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

            def _device(self, body: bytes) -> None:
                device = json.loads(body)
                Device.model_validate(device)
                assert device["meta"]["profile"] == [
                    "http://ehealth.sundhed.dk/fhir/StructureDefinition/ehealth-device"
                ]
                assert device["status"] and "patient" not in device
                (identifier,) = device["identifier"]
                token = f"{identifier['system']}|{identifier['value']}"
                condition = unquote(self.headers.get("If-None-Exist", "")).removeprefix(
                    "identifier="
                )
                assert condition == token, "conditional create must match the Device"
                with server.lock:
                    server.device_creates[token] += 1
                    device_id = server.devices.get(token)
                    status = 200
                    if device_id is None:
                        device_id = f"d{len(server.devices) + 1}"
                        server.devices[token] = device_id
                        status = 201
                payload = json.dumps({**device, "id": device_id}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Location", f"{server.base_url}/Device/{device_id}/_history/1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return None

            def _validity(self, body: bytes) -> None:
                document = json.loads(body)
                (parameter,) = document["parameter"]
                impression = parameter["resource"]
                ClinicalImpression.model_validate(impression)
                assert parameter["name"] == "clinicalImpression"
                assert impression["code"]["coding"][0]["code"] == "MeasurementValidityUpdate"
                episode = impression["extension"][0]["valueReference"]["reference"]
                if not self._authorised(impression["subject"]["reference"], episode):
                    return self._refuse(401, "token outside the patient/episode context")
                items = [i["reference"] for i in impression["investigation"][0]["item"]]
                with server.lock:
                    known = {
                        f"{server.base_url}/{server.resources[k]['resourceType']}/{i}"
                        for k, i in server.ids.items()
                    }
                    target = [i for i in items if i in known]
                    if not target:
                        return self._refuse(422, "no such measurement")
                    server.invalidated.append(target[0])
                return self._answer(200, {**impression, "id": str(len(server.invalidated))})

            def _answer(
                self,
                status: int,
                document: dict[str, Any],
                content_type: str = "application/fhir+json",
            ) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
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
            token = _identifier(resource)
            assert token.split("|", 1)[0], "an identifier has a system"
            if "ifNoneExist" in request:
                declared = {
                    r["type"]: r.get("conditionalCreate")
                    for r in self.capability["rest"][0]["resource"]
                }
                assert declared.get(resource["resourceType"]), "ifNoneExist not declared"
                condition = unquote(request["ifNoneExist"].removeprefix("identifier="))
                assert condition == token, "conditional create must match the resource"
            identifier = token.split("|", 1)[1]
            entries.append((identifier, {**resource, "_conditional": "ifNoneExist" in request}))
        return entries

    def _store(self, entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
        statuses = []
        with self.lock:
            for identifier, stored in entries:
                conditional = stored.pop("_conditional")
                self.create_attempts[identifier] += 1
                if identifier in self.resources and conditional and self.honour_if_none_exist:
                    statuses.append("200 OK")  # ifNoneExist matched: nothing created
                    continue
                self.created[identifier] += 1
                self.resources.setdefault(identifier, stored)
                self.ids.setdefault(identifier, str(len(self.ids) + 1))
                statuses.append("201 Created")
        return statuses


def _identifier(resource: dict[str, Any]) -> str:
    found = resource["identifier"]
    first = found[0] if isinstance(found, list) else found
    return f"{first.get('system', '')}|{first['value']}"
