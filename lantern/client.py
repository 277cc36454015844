"""A small, synchronous client for ComfyUI's HTTP + websocket API.

Used by the tests, the demo and the benchmarks, and meant for users' own automation: post an API-format graph,
follow its execution over the websocket (progress included), and fetch what it produced. Depends only on the
standard library and `websocket-client`.
"""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable


class ComfyError(RuntimeError):
    """ComfyUI refused a graph (validation) or a node failed while executing it."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.details = details


@dataclass
class RunResult:
    prompt_id: str
    outputs: dict[str, dict]
    history: dict
    events: list[dict] = field(default_factory=list)

    def files(self, node_id: str, kind: str | None = None) -> list[dict]:
        """File items ({filename, subfolder, type}) a node reported under `kind` (images, gifs, animated...)."""
        node_outputs = self.outputs.get(str(node_id), {})
        kinds = [kind] if kind else list(node_outputs)
        return [item for k in kinds for item in node_outputs.get(k, []) or []
                if isinstance(item, dict) and "filename" in item]


ProgressCallback = Callable[[dict], None]


class ComfyClient:
    def __init__(self, url: str = "http://127.0.0.1:8188", client_id: str | None = None, timeout: float = 600.0):
        self.url = url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout

    # -- plain HTTP -------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            raise ComfyError(f"{method} {path} -> HTTP {error.code}: {text[:2000]}", parsed) from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def get(self, path: str, **params):
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self.request("GET", path + query)

    def object_info(self) -> dict:
        return self.get("/object_info")

    def fetch(self, item: dict) -> bytes:
        """Bytes of an output file item ({filename, subfolder, type}) through /view."""
        query = urllib.parse.urlencode({"filename": item["filename"], "subfolder": item.get("subfolder", ""),
                                        "type": item.get("type", "output")})
        return self.request("GET", f"/view?{query}", raw=True)

    def images(self, result: RunResult, node_id: str):
        from PIL import Image

        return [Image.open(io.BytesIO(self.fetch(item))) for item in result.files(node_id, "images")]

    def interrupt(self) -> None:
        self.request("POST", "/interrupt", {})

    def free(self, unload_models: bool = True, free_memory: bool = True) -> None:
        self.request("POST", "/free", {"unload_models": unload_models, "free_memory": free_memory})

    # -- running graphs ---------------------------------------------------------------------------------------
    def queue(self, graph: dict, extra_pnginfo: dict | None = None) -> str:
        body: dict[str, Any] = {"prompt": graph, "client_id": self.client_id}
        if extra_pnginfo is not None:
            body["extra_data"] = {"extra_pnginfo": extra_pnginfo}
        try:
            answer = self.request("POST", "/prompt", body)
        except ComfyError as error:
            raise ComfyError(f"ComfyUI refused the graph: {_describe_refusal(error.details)}", error.details) from None
        if answer.get("node_errors"):
            raise ComfyError(f"ComfyUI refused the graph: {_describe_refusal(answer)}", answer)
        return answer["prompt_id"]

    def run(self, graph: dict, on_event: ProgressCallback | None = None, extra_pnginfo: dict | None = None,
            timeout: float | None = None) -> RunResult:
        """Queue `graph`, wait for it over the websocket, return its outputs. Raises ComfyError on failure."""
        import websocket  # websocket-client

        ws_url = self.url.replace("http", "ws", 1) + f"/ws?clientId={self.client_id}"
        ws = websocket.create_connection(ws_url, timeout=timeout or self.timeout)
        events: list[dict] = []
        try:
            prompt_id = self.queue(graph, extra_pnginfo)
            deadline = time.monotonic() + (timeout or self.timeout)
            while True:
                if time.monotonic() > deadline:
                    raise ComfyError(f"prompt {prompt_id} did not finish within {timeout or self.timeout:.0f} s")
                message = ws.recv()
                if isinstance(message, bytes):
                    continue  # binary previews
                event = json.loads(message)
                data = event.get("data", {})
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                events.append(event)
                if on_event:
                    on_event(event)
                kind = event.get("type")
                if kind == "execution_error":
                    raise ComfyError(f"node {data.get('node_id')} ({data.get('node_type')}) failed: "
                                     f"{data.get('exception_type')}: {data.get('exception_message')}", data)
                if kind == "execution_interrupted":
                    raise ComfyError(f"prompt {prompt_id} was interrupted", data)
                # "executing" with node None is sent after the history is stored ("execution_success" is not)
                if kind == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                    break
        finally:
            ws.close()
        history = self.get(f"/history/{prompt_id}").get(prompt_id, {})
        status = history.get("status", {})
        if status.get("status_str") == "error":
            raise ComfyError(f"prompt {prompt_id} failed: {status.get('messages')}", history)
        return RunResult(prompt_id, history.get("outputs", {}), history, events)


def _describe_refusal(details: Any) -> str:
    if not isinstance(details, dict):
        return str(details)
    parts = []
    error = details.get("error")
    if isinstance(error, dict):
        parts.append(f"{error.get('message')} {error.get('details') or ''}".strip())
    for node_id, node_error in (details.get("node_errors") or {}).items():
        for item in node_error.get("errors", []):
            parts.append(f"node {node_id} ({node_error.get('class_type')}): {item.get('message')}: "
                         f"{item.get('details')}")
    return "; ".join(parts) or json.dumps(details)[:2000]
