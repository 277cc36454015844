"""Every shipped workflow: its UI file and API twin agree, and the API twin runs on the real host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lantern.workflow_format import api_to_ui, ui_to_api

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
API_FILES = sorted(WORKFLOWS.glob("*.api.json"))


def _ui_twin(api_file: Path) -> Path:
    return api_file.with_name(api_file.name[: -len(".api.json")] + ".json")


def test_every_workflow_has_both_formats():
    ui_files = sorted(p for p in WORKFLOWS.glob("*.json") if not p.name.endswith(".api.json"))
    assert API_FILES, "no workflows shipped"
    assert sorted(_ui_twin(p) for p in API_FILES) == ui_files


@pytest.mark.parametrize("api_file", API_FILES, ids=lambda p: p.name)
def test_ui_twin_matches_api(comfy, api_file):
    api = json.loads(api_file.read_text())
    ui = json.loads(_ui_twin(api_file).read_text())
    assert ui_to_api(ui, comfy.object_info) == api, (
        f"{_ui_twin(api_file).name} is out of step with {api_file.name}: "
        f"run .venv/bin/python scripts/workflow_ui.py {api_file.relative_to(WORKFLOWS.parent)}")


def test_converter_round_trips_stock_graph(comfy):
    from tests.e2e.graphs import txt2img

    graph = txt2img()
    ui = api_to_ui(graph, comfy.object_info)
    assert len(ui["nodes"]) == len(graph)
    assert len(ui["links"]) == 9
    ksampler = next(node for node in ui["nodes"] if node["type"] == "KSampler")
    assert ksampler["widgets_values"] == [1, "fixed", 4, 7.0, "euler", "normal", 1.0]
    assert ui_to_api(ui, comfy.object_info) == graph


@pytest.mark.parametrize("api_file", API_FILES, ids=lambda p: p.name)
def test_api_workflow_executes(client, api_file):
    graph = json.loads(api_file.read_text())
    result = client.run(graph)
    output_nodes = [node_id for node_id, node in graph.items()
                    if node_id in result.outputs or node["class_type"].startswith(("Save", "Preview", "LanternSave"))]
    assert output_nodes, f"{api_file.name} has no output node"
    for node_id in output_nodes:
        assert result.outputs.get(node_id), f"{api_file.name}: output node {node_id} produced nothing"
