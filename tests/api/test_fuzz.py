"""Bad input never gets a 5xx (SPEC 9): fuzzed API calls over the whole OpenAPI document,
fuzzed scans and bedside bodies, and malformed bodies. Every 4xx from /api/v1 is
`application/problem+json` with a `detail` in plain words (SPEC 7)."""

from __future__ import annotations

import json
import math
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from ucmsc_lims import create_app
from ucmsc_lims.core.permissions import PUBLIC, SIGNED_IN, permissions_for, required_permission
from ucmsc_lims.demo.seed import DEMO_USERS

NUL_REFUSED = "The request holds a NUL character, which no field accepts."

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))

# What a plain-words detail never looks like: a traceback, an exception's class name, a Python
# repr, the name of a database driver or an HTML page. (A detail may quote the input it refuses.)
NOT_PLAIN_WORDS = re.compile(
    r"Traceback|\b[A-Z]\w*(Error|Exception)\b|\{'|\bsqlalchemy\b|psycopg|sqlite3|^\s*<"
)


def assert_no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


def assert_plain_problem(response, what: str) -> dict:
    """A 4xx from the API is problem+json whose detail a person can read."""
    assert response.mimetype == "application/problem+json", (
        f"{what} answered {response.status_code} as {response.mimetype}"
    )
    body = json.loads(response.get_data(as_text=True))
    detail = body.get("detail")
    assert body.get("status") == response.status_code, f"{what}: {body}"
    assert isinstance(detail, str) and detail.strip(), f"{what}: no detail in {body}"
    assert not NOT_PLAIN_WORDS.search(detail), f"{what}: detail is not plain words: {detail!r}"
    return body


def assert_sane_answer(response, what: str) -> None:
    assert_no_server_error(response, what)
    if 400 <= response.status_code < 500:
        assert_plain_problem(response, what)


# --- who may call what --------------------------------------------------------------------------

_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def permissions_by_operation(app) -> dict[tuple[str, str], str | None]:
    """(METHOD, OpenAPI path) -> the permission the view declares, read from the URL map."""
    declared = {}
    for rule in app.url_map.iter_rules():
        path = _RULE_ARGUMENT.sub(r"{\1}", rule.rule)
        permission = required_permission(app.view_functions.get(rule.endpoint))
        for method in rule.methods or ():
            declared[(method, path)] = permission
    return declared


def caller_for(permission: str | None) -> str:
    """The first demo user whose roles grant the permission (any user for public routes)."""
    for username, _name, roles, _ward in DEMO_USERS:
        if permission in (None, PUBLIC, SIGNED_IN) or permission in permissions_for(roles):
            return username
    raise AssertionError(f"no demo role holds {permission!r}")


class Tokens:
    """Bearer tokens of the demo users, issued through POST /api/v1/auth/token."""

    def __init__(self, client):
        self.client = client
        self.issued: dict[str, str] = {}

    def fresh(self, username: str) -> str:
        response = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["token"]

    def of(self, username: str) -> str:
        if username not in self.issued:
            self.issued[username] = self.fresh(username)
        return self.issued[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.of(username)}"}


@pytest.fixture
def tokens(client, users) -> Tokens:
    return Tokens(client)


# --- 1. every operation of the OpenAPI document ------------------------------------------------


HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in /api/v1/openapi.json, read when tests are collected
    (the document does not depend on the database)."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://"})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    ]


OPERATIONS = documented_operations()


@pytest.fixture
def api_schema(app, db):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def cases_of(schema, method: str, path: str) -> st.SearchStrategy:
    """Cases that fit the operation's schema and cases that break it."""
    operation = schema[path][method]
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_fuzzed_call_of_an_api_operation_gets_a_server_error(
    app, api_schema, tokens, method, path
):
    username = caller_for(permissions_by_operation(app).get((method, path)))
    signs_out = (method, path) == ("DELETE", "/api/v1/auth/token")

    @FUZZ
    @given(case=cases_of(api_schema, method, path))
    def call(case):
        # Signing out revokes the token it presents: that call gets a token of its own.
        token = tokens.fresh(username) if signs_out else tokens.of(username)
        response = case.call(headers={"Authorization": f"Bearer {token}"})

        what = f"{method} {case.formatted_path} as {username}"
        assert response.status_code < 500, f"{what} answered {response.status_code}"
        if 400 <= response.status_code < 500:
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type.startswith("application/problem+json"), (
                f"{what} answered {response.status_code} as {content_type}"
            )
            body = response.json()
            assert body["status"] == response.status_code
            detail = body.get("detail")
            assert isinstance(detail, str) and detail.strip(), f"{what}: no detail in {body}"
            assert not NOT_PLAIN_WORDS.search(detail), f"{what}: not plain words: {detail!r}"

    call()


def test_the_fuzzed_operations_include_the_spec_core():
    """The fuzz above covers what the document lists: the SPEC 7 core must be in it."""
    assert {
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/scans"),
        ("GET", "/api/v1/bags"),
        ("GET", "/api/v1/bags/{bag_id}"),
        ("POST", "/api/v1/bedside/verifications"),
        ("POST", "/api/v1/bedside/verifications/{verification_id}/confirm"),
        ("POST", "/api/v1/infusions"),
        ("GET", "/api/v1/trace/{identifier}"),
        ("GET", "/api/v1/audit/verify"),
    } <= set(OPERATIONS)


def test_every_documented_operation_has_a_demo_role_that_may_call_it(app):
    declared = permissions_by_operation(app)
    for (method, path), permission in declared.items():
        if path.startswith("/api/v1/") and method not in ("HEAD", "OPTIONS"):
            assert caller_for(permission) in {u[0] for u in DEMO_USERS}, (method, path)


# --- 2. scans and bedside bodies ---------------------------------------------------------------

# Data identifiers of ISBT 128 and the project's own code shapes, so that the fuzz reaches the
# parsers behind them rather than stopping at the first character.
CODE_PREFIXES = ["=", "&>", "=<", "='", "=%", "=)", "&)", "&!", "=,", "L-", "ML", "0", ""]
CODE_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*-=<>&%'!,) abc\t\x00\u00e9\u4e2d"

code_like = st.builds(
    str.__add__, st.sampled_from(CODE_PREFIXES), st.text(CODE_CHARACTERS, max_size=30)
)
digits_hyphen = st.from_regex(r"\A[0-9]{0,4}-?[0-9]{0,5}[0-9A-Z*]?\Z")
scanned = st.one_of(st.text(max_size=200), code_like, digits_hyphen)


@FUZZ
@given(code=scanned)
def test_a_fuzzed_scan_is_parsed_or_refused_in_plain_words(api_client, code):
    response = api_client("nurse").post("/api/v1/scans", json={"code": code})

    assert_no_server_error(response, f"scan {code!r}")
    assert response.status_code in (200, 422), response.get_data(as_text=True)
    if response.status_code == 200:
        assert set(response.get_json()) >= {"kind", "id", "check_ok", "status", "url"}
    else:
        assert_plain_problem(response, f"scan {code!r}")


def _is_weight(value) -> bool:
    """Whether marshmallow's Float (allow_nan=False, 0.5-500 kg) takes the value."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(number) and 0.5 <= number <= 500


def _is_code(value) -> bool:
    return isinstance(value, str) and len(value) <= 120 and "\x00" not in value


def _holds_nul(*values) -> bool:
    return any(isinstance(value, str) and "\x00" in value for value in values)


weights = st.one_of(
    st.floats(), st.floats(min_value=0.5, max_value=500), st.none(), st.text(max_size=12),
    st.integers(), st.sampled_from([1e308, -1e308, 10**400, -70, 0, 70]),
)
codes = st.one_of(scanned, st.none(), st.integers())


@FUZZ
@given(patient_code=codes, bag_code=codes, weight_kg=weights)
def test_a_fuzzed_bedside_verification_is_no_go_or_refused(
    api_client, patient_code, bag_code, weight_kg
):
    response = api_client("nurse").post("/api/v1/bedside/verifications", json={
        "patient_code": patient_code, "bag_code": bag_code, "weight_kg": weight_kg,
    })

    what = f"verification of {patient_code!r}, {bag_code!r}, {weight_kg!r}"
    assert_no_server_error(response, what)
    if _is_code(patient_code) and _is_code(bag_code) and _is_weight(weight_kg):
        assert response.status_code == 200, f"{what}: {response.get_data(as_text=True)}"
        body = response.get_json()
        assert body["decision"] == "NO_GO"
        assert any(not check["ok"] for check in body["checks"])
    else:
        assert response.status_code == 422, f"{what}: {response.get_data(as_text=True)}"
        body = assert_plain_problem(response, what)
        if _holds_nul(patient_code, bag_code, weight_kg):
            assert body["detail"] == NUL_REFUSED
        else:
            assert body["detail"].startswith("The request has invalid or missing fields: ")


def test_an_unknown_bag_at_the_bedside_is_a_recorded_no_go(api_client):
    response = api_client("nurse").post("/api/v1/bedside/verifications", json={
        "patient_code": "01-0001X", "bag_code": "NOSUCHBAG0001", "weight_kg": 70,
    })

    assert response.status_code == 200
    body = response.get_json()
    assert body["decision"] == "NO_GO"
    assert body["verification_id"]


# --- 3. malformed bodies -----------------------------------------------------------------------

POSTS = [
    "/api/v1/auth/token",
    "/api/v1/scans",
    "/api/v1/bedside/verifications",
    "/api/v1/bedside/verifications/1/confirm",
    "/api/v1/infusions",
    "/api/v1/infusions/1/end",
    "/api/v1/bags/0000000000/prints",
    "/api/v1/lots/NOSUCHLOT/qc-results",
    "/api/v1/lots/NOSUCHLOT/passages",
    "/api/v1/patients/01-0001/visits",
]

MALFORMED = {
    "truncated JSON": ('{"code": "=A9999', "application/json"),
    "not JSON at all": ("code=abc", "application/json"),
    "invalid UTF-8": (b'{"code": "\xff\xfe"}', "application/json"),
    "a JSON list": ('["=A99992500001"]', "application/json"),
    "a JSON string": ('"=A99992500001"', "application/json"),
    "a JSON number": ("12345", "application/json"),
    "JSON null": ("null", "application/json"),
    "JSON NaN": ('{"code": NaN, "weight_kg": NaN}', "application/json"),
    "deeply nested JSON": ("[" * 5000 + "]" * 5000, "application/json"),
    "a form body": ("code=abc&weight_kg=70", "application/x-www-form-urlencoded"),
    "plain text": ("=A99992500001", "text/plain"),
    "XML": ("<scan><code>=A9999</code></scan>", "application/xml"),
    "no content type": ('{"code": "=A9999"}', None),
    "an empty body": ("", "application/json"),
    "a huge JSON object": (json.dumps({"code": "A" * 2_000_000}), "application/json"),
    "a huge field list": (
        json.dumps({f"field{n}": n for n in range(50_000)}), "application/json"
    ),
}


def _caller_of(app, path: str) -> str:
    adapter = app.url_map.bind("lims.test")
    endpoint, _args = adapter.match(path, method="POST")
    return caller_for(required_permission(app.view_functions[endpoint]))


@pytest.mark.parametrize("path", POSTS)
def test_malformed_bodies_are_refused_in_plain_words(app, client, tokens, path):
    headers = tokens.headers(_caller_of(app, path))
    for name, (data, content_type) in MALFORMED.items():
        response = client.post(path, data=data, content_type=content_type, headers=headers)

        what = f"{name} to {path}"
        assert_no_server_error(response, what)
        assert 400 <= response.status_code < 500, f"{what} answered {response.status_code}"
        assert_plain_problem(response, what)


def test_a_malformed_scan_body_says_what_is_wrong(api_client):
    nurse = api_client("nurse")

    truncated = nurse.post("/api/v1/scans", data='{"code": "=A9', content_type="application/json")
    listed = nurse.post("/api/v1/scans", json=["=A99992500001"])

    assert truncated.status_code == 400
    assert truncated.get_json()["detail"] == "The request body is not valid JSON."
    assert listed.status_code == 422
    assert listed.get_json()["detail"] == "Invalid input type."


def test_a_body_nested_too_deeply_is_refused_in_plain_words(api_client):
    response = api_client("nurse").post(
        "/api/v1/scans", data="[" * 5000 + "]" * 5000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["detail"] == "The request body is nested too deeply."


@pytest.mark.parametrize("where", ["body", "query", "path"])
def test_a_nul_character_is_refused_on_both_engines_alike(api_client, where):
    nurse = api_client("nurse")
    if where == "body":
        response = nurse.post("/api/v1/scans", json={"code": "=A9999\x0025000012"})
    elif where == "query":
        response = nurse.get("/api/v1/bags", query_string={"patient": "01-0001\x00"})
    else:
        response = nurse.get("/api/v1/bags/ABC%00DEF")

    assert response.status_code == 422
    assert response.get_json()["detail"] == NUL_REFUSED


@pytest.mark.parametrize("path", [
    "/api/v1/bedside/verifications/2147483648",
    "/api/v1/infusions/99999999999999999999",
])
def test_an_id_past_the_largest_integer_is_not_found(api_client, path):
    response = api_client("nurse").get(path)

    assert response.status_code == 404
    assert response.get_json()["detail"].startswith("No ")


def test_starting_an_infusion_of_a_verification_id_past_the_largest_integer_is_not_found(
    api_client,
):
    response = api_client("nurse").post("/api/v1/infusions", json={"verification_id": 2**70})

    assert response.status_code == 404
    assert response.get_json()["detail"] == f"No verification {2**70}."


def test_a_lots_page_after_an_id_past_the_largest_integer_is_refused(api_client):
    response = api_client("qa").get("/api/v1/lots", query_string={"after": 2**63})

    assert response.status_code == 422
    assert response.get_json()["errors"]["after"]
