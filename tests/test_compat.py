"""``contract-tests compat OLD NEW``: each rule with a pair of tiny documents, then the command itself."""

from __future__ import annotations

import copy
import datetime
import functools
import http.server
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from billing_contract.compat import compare
from billing_contract.compat_schema import CompatError
from contract_tests.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _document(request: dict[str, Any] | None = None, response: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /things taking ``request`` and answering ``response`` (both JSON schemas), with bearer auth."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "security": [{"bearerAuth": []}],
        "paths": {
            "/things": {
                "post": {
                    "operationId": "makeThing",
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request or {"type": "object"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "made",
                            "content": {"application/json": {"schema": response or {"type": "object"}}},
                        },
                        "400": {"description": "refused"},
                    },
                }
            }
        },
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


OBJECT = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base``'s field ``id`` with ``changes`` (a None value removes the key)."""
    schema = copy.deepcopy(base)
    schema["properties"]["id"].update(changes)
    schema["properties"]["id"] = {k: v for k, v in schema["properties"]["id"].items() if v is not None}
    return schema


def _on(side: str, schema: dict[str, Any]) -> dict[str, Any]:
    return _document(request=schema) if side == "request" else _document(response=schema)


def _set(keys: str, value: Any, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """``document`` (the tiny one by default) with the value at ``keys`` (space-separated) set; None removes it."""
    document = copy.deepcopy(document or _document())
    *parents, last = [
        int(key) if key.isdigit() and key not in ("200", "400", "404") else key for key in keys.split(" ")
    ]
    node: Any = document
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return document


OP = "paths /things post"
BODY = f"{OP} requestBody"
OK_200 = f"{OP} responses 200"
ENUM = ["a", "b"]
ARRAY = {"type": "array", "items": {"type": "string", "enum": ["a"]}}
QUERY = {"name": "limit", "in": "query", "schema": {"type": "integer"}}

# (old, new, breaking, what the change says)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool, str]] = {
    # a type or a format changed
    "request type changed": (
        _on("request", OBJECT),
        _on("request", _with(OBJECT, type="integer")),
        True,
        "type changed",
    ),
    "request type widened": (
        _on("request", _with(OBJECT, type="integer")),
        _on("request", _with(OBJECT, type="number")),
        False,
        "type",
    ),
    "response type narrowed": (
        _on("response", _with(OBJECT, type="number")),
        _on("response", _with(OBJECT, type="integer")),
        False,
        "type",
    ),
    "response type changed": (_on("response", OBJECT), _on("response", _with(OBJECT, type="integer")), True, "type"),
    "request type added": (_on("request", _with(OBJECT, type=None)), _on("request", OBJECT), True, "type string added"),
    "response type removed": (
        _on("response", OBJECT),
        _on("response", _with(OBJECT, type=None)),
        True,
        "type string removed",
    ),
    "response type added": (_on("response", _with(OBJECT, type=None)), _on("response", OBJECT), False, "added"),
    "request format added": (_on("request", OBJECT), _on("request", _with(OBJECT, format="date")), True, "format"),
    "response format added": (_on("response", OBJECT), _on("response", _with(OBJECT, format="date")), False, "format"),
    "request format removed": (
        _on("request", _with(OBJECT, format="date")),
        _on("request", OBJECT),
        False,
        "format date removed",
    ),
    "response format removed": (
        _on("response", _with(OBJECT, format="date")),
        _on("response", OBJECT),
        True,
        "format date removed",
    ),
    "response format changed": (
        _on("response", _with(OBJECT, format="date")),
        _on("response", _with(OBJECT, format="date-time")),
        True,
        "format changed from date to date-time",
    ),
    # nullable
    "response made nullable": (
        _on("response", OBJECT),
        _on("response", _with(OBJECT, nullable=True)),
        True,
        "nullable",
    ),
    "request made nullable": (_on("request", OBJECT), _on("request", _with(OBJECT, nullable=True)), False, "nullable"),
    "request no longer nullable": (
        _on("request", _with(OBJECT, nullable=True)),
        _on("request", OBJECT),
        True,
        "no longer nullable",
    ),
    # enums
    "request enum narrowed": (
        _on("request", _with(OBJECT, enum=ENUM)),
        _on("request", _with(OBJECT, enum=["a"])),
        True,
        'value "b" removed',
    ),
    "request enum widened": (
        _on("request", _with(OBJECT, enum=ENUM)),
        _on("request", _with(OBJECT, enum=[*ENUM, "c"])),
        False,
        '"c" added',
    ),
    "response enum widened": (
        _on("response", _with(OBJECT, enum=ENUM)),
        _on("response", _with(OBJECT, enum=[*ENUM, "c"])),
        True,
        '"c" added',
    ),
    "response enum narrowed": (
        _on("response", _with(OBJECT, enum=ENUM)),
        _on("response", _with(OBJECT, enum=["a"])),
        False,
        '"b" removed',
    ),
    "request enum added": (_on("request", OBJECT), _on("request", _with(OBJECT, enum=ENUM)), True, "limited to"),
    "response enum removed": (_on("response", _with(OBJECT, enum=ENUM)), _on("response", OBJECT), True, "enum removed"),
    # bounds and patterns
    "request maxLength narrowed": (
        _on("request", _with(OBJECT, maxLength=10)),
        _on("request", _with(OBJECT, maxLength=5)),
        True,
        "maxLength",
    ),
    "request maxLength widened": (
        _on("request", _with(OBJECT, maxLength=5)),
        _on("request", _with(OBJECT, maxLength=10)),
        False,
        "maxLength",
    ),
    "request minLength raised": (
        _on("request", _with(OBJECT, minLength=1)),
        _on("request", _with(OBJECT, minLength=3)),
        True,
        "minLength",
    ),
    "request maximum added": (
        _on("request", OBJECT),
        _on("request", _with(OBJECT, maximum=9)),
        True,
        "maximum 9 added",
    ),
    "request maximum removed": (_on("request", _with(OBJECT, maximum=9)), _on("request", OBJECT), False, "removed"),
    "response maxLength widened": (
        _on("response", _with(OBJECT, maxLength=5)),
        _on("response", _with(OBJECT, maxLength=10)),
        True,
        "maxLength",
    ),
    "response maxLength narrowed": (
        _on("response", _with(OBJECT, maxLength=10)),
        _on("response", _with(OBJECT, maxLength=5)),
        False,
        "maxLength",
    ),
    "request pattern added": (_on("request", OBJECT), _on("request", _with(OBJECT, pattern="^a")), True, "pattern"),
    "request pattern removed": (_on("request", _with(OBJECT, pattern="^a")), _on("request", OBJECT), False, "pattern"),
    "request object closed": (
        _on("request", OBJECT),
        _on("request", {**OBJECT, "additionalProperties": False}),
        True,
        "additionalProperties",
    ),
    # fields
    "response field removed": (
        _on("response", OBJECT),
        _on("response", {"type": "object", "properties": {}}),
        True,
        "response field removed",
    ),
    "response field added": (
        _on("response", OBJECT),
        _on("response", _set("properties n", {"type": "string"}, OBJECT)),
        False,
        "new",
    ),
    "response field made optional": (
        _on("response", OBJECT),
        _on("response", _set("required", [], OBJECT)),
        True,
        "made optional",
    ),
    "response field made required": (
        _on("response", _set("required", [], OBJECT)),
        _on("response", OBJECT),
        False,
        "made required",
    ),
    "new required request field": (
        _on("request", OBJECT),
        _on("request", _set("required", ["id", "n"], _set("properties n", {"type": "string"}, OBJECT))),
        True,
        "new required request field",
    ),
    "request field required, not described": (
        _on("request", OBJECT),
        _on("request", _set("required", ["id", "n"], OBJECT)),
        True,
        "new required request",
    ),
    "new optional request field": (
        _on("request", OBJECT),
        _on("request", _set("properties n", {"type": "string"}, OBJECT)),
        False,
        "new optional request field",
    ),
    "request field made required": (
        _on("request", _set("required", [], OBJECT)),
        _on("request", OBJECT),
        True,
        "request field made required",
    ),
    "request field made optional": (
        _on("request", OBJECT),
        _on("request", _set("required", [], OBJECT)),
        False,
        "request field made optional",
    ),
    "request field removed": (
        _on("request", OBJECT),
        _on("request", {"type": "object", "properties": {}}),
        False,
        "request field removed",
    ),
    "response items widened": (
        _on("response", ARRAY),
        _on("response", _set("items enum", ["a", "b"], ARRAY)),
        True,
        '"b"',
    ),
    "response alternatives added": (
        _on("response", {"oneOf": [{"type": "string"}]}),
        _on("response", {"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        True,
        "1 -> 2 alternatives",
    ),
    "request alternatives added": (
        _on("request", {"oneOf": [{"type": "string"}]}),
        _on("request", {"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        False,
        "1 -> 2 alternatives",
    ),
    # operations
    "operation removed": (_document(), _set(OP, None), True, "operation removed"),
    "operation added": (_document(), _set("paths /things get", {"responses": {}}), False, "operation added"),
    "operationId changed": (_document(), _set(f"{OP} operationId", "createThing"), True, "operationId changed"),
    # parameters
    "new required parameter": (
        _document(),
        _set(f"{OP} parameters", [QUERY, {"name": "X-Id", "in": "header", "required": True}]),
        True,
        "new required header parameter",
    ),
    "new optional parameter": (
        _document(),
        _set(f"{OP} parameters", [QUERY, {"name": "page", "in": "query"}]),
        False,
        "new optional",
    ),
    "parameter made required": (_document(), _set(f"{OP} parameters 0 required", True), True, "made required"),
    "parameter made optional": (
        _set(f"{OP} parameters 0 required", True),
        _document(),
        False,
        "parameter made optional",
    ),
    "parameter removed": (_document(), _set(f"{OP} parameters", []), False, "query parameter removed"),
    "parameter narrowed": (_document(), _set(f"{OP} parameters 0 schema maximum", 50), True, "maximum 50 added"),
    # request bodies
    "request body made optional": (_document(), _set(f"{BODY} required", False), False, "request body made optional"),
    "request body made required": (_set(f"{BODY} required", False), _document(), True, "request body made required"),
    "request body removed": (_document(), _set(BODY, None), True, "request body removed"),
    "new required request body": (_set(BODY, None), _document(), True, "new required request body"),
    "request media type removed": (
        _set(f"{BODY} content text/plain", {}),
        _document(),
        True,
        "request media type removed",
    ),
    "request media type added": (
        _document(),
        _set(f"{BODY} content text/plain", {}),
        False,
        "request media type added",
    ),
    # responses
    "response status removed": (_document(), _set(f"{OP} responses 400", None), True, "status 400 removed"),
    "response status added": (_document(), _set(f"{OP} responses 404", {"description": "no"}), False, "404 added"),
    "response media type removed": (
        _set(f"{OK_200} content text/plain", {}),
        _document(),
        True,
        "response media type removed",
    ),
    "response media type added": (
        _document(),
        _set(f"{OK_200} content text/plain", {}),
        False,
        "response media type added",
    ),
    "response header removed": (
        _set(f"{OK_200} headers", {"X-Rate": {"schema": {"type": "integer"}}}),
        _document(),
        True,
        "header removed",
    ),
    "response header added": (
        _document(),
        _set(f"{OK_200} headers", {"X-Rate": {"schema": {"type": "integer"}}}),
        False,
        "header added",
    ),
    # security
    "security needs more": (
        _document(),
        _set(f"{OP} security", [{"bearerAuth": [], "basicAuth": []}]),
        True,
        "bearerAuth now needs more",
    ),
    "security alternative added": (
        _document(),
        _set("security", [{"bearerAuth": []}, {"basicAuth": []}]),
        False,
        "alternative basicAuth added",
    ),
    "security where there was none": (_set("security", []), _document(), True, "with none now needs more"),
    "security scheme removed": (_document(), _set("components securitySchemes", {}), True, "security scheme removed"),
    "security scheme changed": (
        _document(),
        _set("components securitySchemes bearerAuth scheme", "basic"),
        True,
        "scheme changed",
    ),
    "security scheme added": (
        _document(),
        _set("components securitySchemes key", {"type": "apiKey", "in": "header", "name": "K"}),
        False,
        "security scheme added",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_classes_its_change(case: str) -> None:
    old, new, breaking, what = CASES[case]
    changes = compare(old, new)
    assert [(change.breaking, what in change.what) for change in changes] == [(breaking, True)], changes


def test_the_path_of_a_change_goes_through_the_operation_and_its_references() -> None:
    """A change inside a shared component is reported where each operation uses it."""
    old = _document(response={"$ref": "#/components/schemas/Thing"})
    old["components"]["schemas"] = {"Thing": OBJECT}
    new = _set("components schemas Thing required", [], old)
    [change] = compare(old, new)
    assert change == (
        True,
        '$.paths["/things"].post.responses["200"].content["application/json"].schema.properties.id',
        "response field made optional",
    )


def test_a_schema_that_refers_to_itself_is_compared_once_per_level() -> None:
    tree = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Tree"}, "n": {"type": "string"}}}
    old = _document(response={"$ref": "#/components/schemas/Tree"})
    old["components"]["schemas"] = {"Tree": tree}
    new = _set("components schemas Tree properties n format", "date", old)
    [change] = compare(old, new)
    assert change.path.endswith("schema.properties.n") and not change.breaking


def test_a_reference_to_nothing_cannot_be_compared() -> None:
    new = _document(response={"$ref": "#/components/schemas/Missing"})
    with pytest.raises(CompatError, match="names nothing"):
        compare(_document(), new)


def test_descriptions_and_examples_are_not_changes() -> None:
    new = _set(
        f"{OP} description", "Makes a thing.", _on("response", _with(OBJECT, description="The id.", example="x"))
    )
    assert compare(_on("response", OBJECT), new) == []


# the command


def _write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def test_the_projects_document_against_itself_reports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compat", str(ROOT / "openapi.yaml"), str(ROOT / "openapi.yaml")]) == 0
    assert capsys.readouterr().out == ""


def test_a_breaking_change_exits_1_with_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new, _, _ = CASES["request enum narrowed"]
    new = _set(f"{OP} responses 404", {"description": "no"}, new)
    assert main(["compat", _write(tmp_path / "old.yaml", old), _write(tmp_path / "new.yaml", new)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        'BREAKING  $.paths["/things"].post.requestBody.content["application/json"].schema.properties.id'
        '  enum value "b" removed',
        'ok        $.paths["/things"].post.responses["404"]  response status 404 added',
    ]


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new, _, _ = CASES["response status added"]
    argv = ["compat", _write(tmp_path / "a.yaml", old), _write(tmp_path / "b.yaml", new), "--format", "json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "breaking": 0,
        "changes": [
            {"level": "ok", "path": '$.paths["/things"].post.responses["404"]', "what": "response status 404 added"}
        ],
    }


def test_git_ref_and_path(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["compat", "git:HEAD:openapi.yaml", "openapi.yaml"]) in (0, 1)  # the work tree may differ from HEAD
    assert "Traceback" not in capsys.readouterr().err


def test_git_names_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = tmp_path / "repo"
    repository.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repository, check=True)
    _write(repository / "openapi.yaml", _document())
    subprocess.run([*git, "add", "openapi.yaml"], cwd=repository, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], cwd=repository, check=True)
    _write(repository / "openapi.yaml", CASES["request body made required"][0])
    monkeypatch.chdir(repository)
    assert main(["compat", "openapi.yaml", "git:HEAD:openapi.yaml"]) == 1  # HEAD's body is required, the file's not
    assert "request body made required" in capsys.readouterr().out
    assert main(["compat", "git:nope:openapi.yaml", "openapi.yaml"]) == 2
    assert (
        capsys.readouterr().err
        == "contract-tests compat: cannot read git:nope:openapi.yaml: invalid object name 'nope'.\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["compat", "git:HEAD:openapi.yaml", str(repository / "openapi.yaml")]) == 2
    assert "not a git repository" in capsys.readouterr().err


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.socket
def test_a_document_from_a_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new, _, _ = CASES["response status removed"]
    _write(tmp_path / "new.yaml", new)
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            assert main(["compat", _write(tmp_path / "old.yaml", old), f"{base}/new.yaml"]) == 1
            assert "response status 400 removed" in capsys.readouterr().out
            assert main(["compat", _write(tmp_path / "old.yaml", old), f"{base}/gone.yaml"]) == 2
            assert capsys.readouterr().err == f"contract-tests compat: the document {base}/gone.yaml answered 404\n"
        finally:
            server.shutdown()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such.yaml", "openapi.yaml"], "/no/such.yaml does not exist"),
        (["README.md", "openapi.yaml"], "README.md is not valid YAML"),
        (["openapi.yaml", "/dev/zero"], "is not a regular file"),
        (["pyproject.toml", "openapi.yaml"], "pyproject.toml is not valid YAML"),
        (["git:HEAD", "openapi.yaml"], "must be git:REF:PATH"),
        (["openapi.yaml"], "the following arguments are required: NEW"),
        (["openapi.yaml", "openapi.yaml", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["compat", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


def test_a_document_that_is_not_openapi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compat", _write(tmp_path / "a.yaml", {"paths": {}}), str(ROOT / "openapi.yaml")]) == 2
    assert "is not an OpenAPI 3 document" in capsys.readouterr().err


# the fixtures and a recording, against NEW


def _project(edit: Any) -> dict[str, Any]:
    """The project's document, changed by ``edit`` (given its components' schemas)."""
    raw = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    edit(raw["components"]["schemas"])
    return raw


def _organizations(folder: Path, *organizations: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    entries = [
        {
            "label": f"o{index}",
            "apiKey": f"sk_test_{index}",
            "clientId": f"c{index}",
            "clientSecret": "s",
            "organization": o,
        }
        for index, o in enumerate(organizations)
    ]
    (folder / "organizations.yaml").write_text("# Recorded by mock-server --record\n" + yaml.safe_dump(entries))
    return folder


FREE = {
    "organizationId": "org_1",
    "organizationType": "free",
    "creator": "a@example.com",
    "name": "A",
    "messagesCap": 1,
    "costCap": 0,
    "anniversaryDate": "start+P11D",
    "allowOverage": False,
    "createdAt": "start-P1Y",
    "updatedAt": "start",
}


def test_a_field_made_required_that_the_fixtures_lack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Organization now requires region: every shipped organization breaks GET; the change itself is ok."""
    monkeypatch.chdir(ROOT)
    new = _project(lambda schemas: schemas["Organization"]["required"].append("region"))
    assert main(["compat", str(ROOT / "openapi.yaml"), _write(tmp_path / "new.yaml", new)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        'ok        $.paths["/account/organization"].get.responses["200"].content["application/json"]'
        ".schema.properties.region  new required response field"
    )
    shipped = len(yaml.safe_load((ROOT / "fixtures" / "organizations.yaml").read_text()))
    broken = [line for line in lines if line.startswith("BREAKING  ")]
    assert len(broken) == shipped
    assert broken[0].startswith("BREAKING  fixtures/organizations.yaml[0].organization  entry 0 (free): ")
    assert (
        'GET /account/organization would answer: Response violates schema: "region" is a required property' in broken[0]
    )


def test_an_enum_narrowed_names_the_entry_and_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _project(lambda schemas: schemas["BillingResponse"]["properties"]["status"].update(enum=["verified"]))
    argv = [
        "compat",
        str(ROOT / "openapi.yaml"),
        _write(tmp_path / "new.yaml", new),
        "--fixtures",
        str(ROOT / "fixtures"),
    ]
    assert main(argv) == 1
    broken = [line for line in capsys.readouterr().out.splitlines() if ".organization" in line]
    assert broken and all(".organization.status  entry " in line for line in broken)
    assert all("POST /billing would answer" in line and '"verified"' in line for line in broken)
    assert not any("(paid)" in line for line in broken)  # paid is verified


def test_a_fixtures_folder_and_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Dates relative to the clock's start are made absolute first; a recording is judged the same way."""
    spec = str(ROOT / "openapi.yaml")
    fixtures = _organizations(tmp_path / "fixtures", FREE)
    recorded = _organizations(tmp_path / "recorded", FREE, {**FREE, "messagesCap": "many", "organizationId": "org_2"})
    assert main(["compat", spec, spec, "--fixtures", str(fixtures)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["compat", spec, spec, "--fixtures", str(fixtures), "--record", str(recorded)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # entry 1, on both operations
    assert all(
        line.startswith(f"BREAKING  {recorded}/organizations.yaml[1].organization.messagesCap  entry 1 (o1)")
        for line in lines
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "organizations.yaml does not exist"),
        ("{a: 1}", "must hold a list of entries"),
        ("- [", "is not valid YAML"),
    ],
)
def test_a_folder_that_cannot_be_read_exits_2(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if content is not None:
        (tmp_path / "organizations.yaml").write_text(content)
    spec = str(ROOT / "openapi.yaml")
    assert main(["compat", spec, spec, "--record", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_broken_entry_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _organizations(tmp_path, {**FREE, "anniversaryDate": "start+soon"})
    spec = str(ROOT / "openapi.yaml")
    assert main(["compat", spec, spec, "--fixtures", str(folder)]) == 1
    assert "[0].organization  entry 0 (o0): 'start+soon' is not start" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("keys", "value"),
    [
        ("security", [{"bearerAuth": 5}]),
        (f"{OP} security", [{"bearerAuth": [{}, 1]}]),
        (f"{OK_200} content application/json schema", {"enum": [datetime.date(2026, 1, 1)]}),
        (f"{OP} parameters", [5, {"in": "query"}, {"name": 3}]),
        (f"{OP} responses", ["200"]),
        ("paths /things", [1]),
        ("components", None),
    ],
)
def test_a_document_of_odd_shapes_is_compared_without_a_crash(keys: str, value: Any) -> None:
    changed = _set(keys, value)
    assert isinstance(compare(_document(), changed), list) and isinstance(compare(changed, _document()), list)
