"""`ptune-exp-export RUN_DIR OUT --push-to-hub REPO_ID` against a stand-in for the Hub: a small HTTP server
on 127.0.0.1 that answers the routes huggingface_hub calls for `create_repo` and `upload_folder`
(POST /api/repos/create, /api/validate-yaml, /api/models/<repo>/preupload/main answering "regular" for
every file, then /api/models/<repo>/commit/main with the NDJSON commit whose files are base64). The
upload itself runs unmocked, over HTTP; `HF_ENDPOINT` points at the server and offline mode is off only
inside these tests. Both of huggingface_hub's upload paths are covered: the pipelined one (hf_xet
installed) and the single create_commit (HF_HUB_DISABLE_XET)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from corpus import SMOKE
from ptune_exp.artifacts.export_cli import main as export_main

TOKEN = "hf_dummy_token_for_tests"
REPO = "someone/tiny-ptv2"
FILES = ("README.md", "export.json", "weights.safetensors")


class FakeHub(BaseHTTPRequestHandler):
    """The Hub routes create_repo and upload_folder use; everything else is a 404 (and recorded)."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        hub = self.server.hub
        hub["requests"].append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"error": "Invalid credentials in Authorization header"})
        path = self.path.split("?")[0]
        if path == "/api/repos/create":
            payload = json.loads(body)
            hub["created"].append(payload)
            return self._answer(200, {"url": f"{hub['endpoint']}/{payload['organization']}/{payload['name']}"})
        if path == "/api/validate-yaml":
            hub["validated"].append(json.loads(body)["content"])
            if hub.get("reject_card"):
                return self._answer(400, {"errors": [{"message": "tags must be a list of strings"}]})
            return self._answer(200, {"errors": [], "warnings": []})
        if path == f"/api/models/{REPO}/preupload/main":
            files = json.loads(body)["files"]
            modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]
            return self._answer(200, {"files": modes})
        if path == f"/api/models/{REPO}/commit/main":
            return self._commit(body)
        self._answer(404, {"error": f"no route {path}"})

    def _commit(self, body: bytes):
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        assert lines[0]["key"] == "header"
        for line in lines[1:]:
            assert line["key"] == "file" and line["value"]["encoding"] == "base64", line["key"]
            self.server.hub["files"][line["value"]["path"]] = base64.b64decode(line["value"]["content"])
        url = f"{self.server.hub['endpoint']}/{REPO}/commit/{'a' * 40}"
        self._answer(200, {"commitUrl": url, "commitOid": "a" * 40, "pullRequestUrl": None})

    def _answer(self, status: int, data: dict):
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from conftest import compose_cfg
    from ptune_exp.pipeline.run import run

    root = tmp_path_factory.mktemp("hub")
    run(compose_cfg(*SMOKE, f"output_dir={root / 'run'}"))
    return root / "run"


def online(monkeypatch, endpoint: str) -> None:
    """huggingface_hub online, at `endpoint`, with the dummy token in the environment (read at call time)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)


@pytest.fixture
def hub(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)  # port 0: a free port
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    server.hub = {"endpoint": endpoint, "requests": [], "created": [], "validated": [], "files": {}}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    online(monkeypatch, endpoint)
    yield server.hub
    server.shutdown()
    server.server_close()


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("ptune-exp-export: error: ")]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


@pytest.mark.parametrize("xet", [True, False], ids=["pipelined-upload", "single-commit"])
def test_push_to_hub_uploads_the_card_the_export_and_the_weights(run_dir, hub, tmp_path, monkeypatch, capsys, xet):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", not xet)
    out = tmp_path / "export"
    assert export_main([str(run_dir), str(out), "--push-to-hub", REPO, "--private"]) == 0
    assert f"pushed {out} -> {hub['endpoint']}/{REPO}" in capsys.readouterr().out
    assert hub["created"] == [
        {"name": "tiny-ptv2", "organization": "someone", "visibility": "private", "type": "model"}
    ]
    assert sorted(hub["files"]) == sorted(FILES)
    for name in FILES:
        assert hub["files"][name] == (out / name).read_bytes(), name
    card = (out / "README.md").read_text()
    assert hub["validated"] and set(hub["validated"]) == {card}  # the card's metadata is checked first
    assert card.startswith("---\nlibrary_name: ptune-exp\n") and f"hf download {REPO} --local-dir tiny-ptv2" in card
    assert all(headers.get("authorization") == f"Bearer {TOKEN}" for _, headers, _ in hub["requests"])


def test_without_private_the_namespace_default_applies(run_dir, hub, tmp_path):
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 0
    assert hub["created"] == [{"name": "tiny-ptv2", "organization": "someone", "type": "model"}]


def test_no_token_is_one_line_and_the_export_stays(run_dir, hub, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 2
    assert "no Hugging Face token" in error_line(capsys) and not hub["requests"]
    assert all((tmp_path / "export" / name).is_file() for name in FILES)


def test_a_refused_token_is_one_line(run_dir, hub, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 2
    assert "the Hub answered 401 (is the token valid" in error_line(capsys)


def test_a_card_the_hub_refuses_is_one_line_and_nothing_is_committed(run_dir, hub, tmp_path, capsys):
    hub["reject_card"] = True
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 2
    assert "Invalid metadata in README.md. - tags must be a list of strings" in error_line(capsys)
    assert not hub["files"]


def test_an_unreachable_hub_is_one_line(run_dir, tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    online(monkeypatch, endpoint)
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 2
    assert f"{endpoint} could not be reached" in error_line(capsys)


def test_offline_mode_is_one_line(run_dir, hub, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert export_main([str(run_dir), str(tmp_path / "export"), "--push-to-hub", REPO]) == 2
    assert "HF_HUB_OFFLINE is set" in error_line(capsys) and not hub["requests"]


def test_a_bad_repo_id_and_a_lone_private_flag_are_one_line(run_dir, hub, tmp_path, capsys):
    assert export_main([str(run_dir), str(tmp_path / "a"), "--push-to-hub", "not/a/repo"]) == 2
    assert "not a repository id" in error_line(capsys)
    assert export_main([str(run_dir), str(tmp_path / "b"), "--private"]) == 2
    assert "--private only applies with --push-to-hub" in error_line(capsys)
