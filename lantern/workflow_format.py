"""Convert between ComfyUI's two workflow formats.

- API format (what `POST /prompt` takes): `{node_id: {"class_type", "inputs": {name: value | [from_id, slot]}}}`.
- UI format (what users drag into the editor): litegraph nodes with positional `widgets_values`, typed sockets and a
  `links` table.

The order of widget values comes from each node's `input_order` in `/object_info`; INT inputs flagged
`control_after_generate` carry one extra value in the UI format (the "fixed/randomize" choice). Lantern ships every
workflow in both formats; the tests keep them in step with `ui_to_api(ui) == api`.
"""

from __future__ import annotations

from collections import defaultdict

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def _input_specs(info: dict) -> list[tuple[str, str, dict]]:
    """(name, type, options) of a node's inputs in the editor's order."""
    specs = []
    order = info.get("input_order") or {}
    for section in ("required", "optional"):
        declared = info.get("input", {}).get(section, {}) or {}
        for name in order.get(section, list(declared)):
            if name not in declared:
                continue
            spec = declared[name]
            kind = spec[0]
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(kind, list):  # V1 combos list their options in place of the type
                kind, options = "COMBO", {**options, "options": kind}
            specs.append((name, kind, options))
    return specs


def _is_widget(kind: str) -> bool:
    return kind in WIDGET_TYPES


def _has_control_widget(kind: str, options: dict) -> bool:
    return kind in ("INT", "COMBO") and bool(options.get("control_after_generate"))


def _default(kind: str, options: dict):
    if "default" in options:
        return options["default"]
    if kind == "COMBO":
        values = options.get("options") or []
        return values[0] if values else ""
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(kind)


def api_to_ui(api: dict, object_info: dict) -> dict:
    """Lay an API graph out as a UI workflow (columns by dependency depth)."""
    ids = {node_id: index + 1 for index, node_id in enumerate(sorted(api, key=lambda k: (len(k), k)))}
    depth: dict[str, int] = {}

    def depth_of(node_id: str, seen=()) -> int:
        if node_id not in depth:
            parents = [value[0] for value in api[node_id]["inputs"].values() if _is_link(value)]
            depth[node_id] = 1 + max((depth_of(p, seen + (node_id,)) for p in parents if p not in seen), default=-1)
        return depth[node_id]

    for node_id in api:
        depth_of(node_id)
    rows: dict[int, int] = defaultdict(int)
    links, nodes, outgoing = [], [], defaultdict(list)
    for node_id, node in api.items():
        for name, value in node["inputs"].items():
            if _is_link(value):
                links.append([len(links) + 1, ids[value[0]], value[1], ids[node_id], name, None])
                outgoing[(value[0], value[1])].append(links[-1][0])
    link_by_target = {(link[3], link[4]): link for link in links}

    for order, node_id in enumerate(sorted(api, key=lambda k: (depth[k], ids[k]))):
        node = api[node_id]
        info = object_info.get(node["class_type"])
        if info is None:
            raise KeyError(f"node {node_id}: unknown class_type {node['class_type']!r} (not in /object_info)")
        inputs, widgets = [], []
        for name, kind, options in _input_specs(info):
            value = node["inputs"].get(name)
            link = link_by_target.get((ids[node_id], name))
            if _is_widget(kind):
                widgets.append(_default(kind, options) if link or value is None else value)
                if _has_control_widget(kind, options):
                    widgets.append("fixed")
                if link:
                    inputs.append({"name": name, "type": kind, "widget": {"name": name}, "link": link[0]})
                    link[5] = kind
            else:
                inputs.append({"name": name, "type": kind, "link": link[0] if link else None})
                if link:
                    link[5] = kind
        outputs = []
        for slot, (kind, out_name) in enumerate(zip(info.get("output", []), info.get("output_name", []))):
            outputs.append({"name": out_name, "type": kind if not isinstance(kind, list) else "COMBO",
                            "links": outgoing.get((node_id, slot), []), "slot_index": slot})
        column, row = depth[node_id], rows[depth[node_id]]
        rows[column] += 1
        nodes.append({"id": ids[node_id], "type": node["class_type"], "pos": [40 + 380 * column, 40 + 300 * row],
                      "size": [340, 120 + 26 * len(widgets)], "flags": {}, "order": order, "mode": 0,
                      "inputs": inputs, "outputs": outputs,
                      "properties": {"Node name for S&R": node["class_type"]}, "widgets_values": widgets,
                      **({"title": node["_meta"]["title"]} if node.get("_meta", {}).get("title") else {})})
    # the UI format stores the target slot index, not the input name
    slot_index = {(n["id"], i["name"]): k for n in nodes for k, i in enumerate(n["inputs"])}
    for link in links:
        link[4] = slot_index[(link[3], link[4])]
    return {"last_node_id": max(ids.values(), default=0), "last_link_id": len(links), "nodes": nodes,
            "links": links, "groups": [], "config": {}, "extra": {"lantern_api_ids": {str(v): k for k, v in ids.items()}},
            "version": 0.4}


def ui_to_api(ui: dict, object_info: dict) -> dict:
    """The API graph the editor would queue for a UI workflow (muted/bypassed nodes are not supported)."""
    api_ids = ui.get("extra", {}).get("lantern_api_ids", {})
    name_of = {node["id"]: api_ids.get(str(node["id"]), str(node["id"])) for node in ui["nodes"]}
    links = {link[0]: link for link in ui["links"]}
    api = {}
    for node in ui["nodes"]:
        if node.get("mode", 0) != 0:
            raise ValueError(f"node {node['id']} ({node['type']}) is muted or bypassed; unmute it or remove it")
        info = object_info.get(node["type"])
        if info is None:
            raise KeyError(f"node {node['id']}: unknown type {node['type']!r} (not in /object_info)")
        linked = {i["name"]: links[i["link"]] for i in node.get("inputs", []) if i.get("link") is not None}
        values = list(node.get("widgets_values", []))
        inputs = {}
        for name, kind, options in _input_specs(info):
            if _is_widget(kind):
                value = values.pop(0) if values else None
                if _has_control_widget(kind, options) and values:
                    values.pop(0)
                if name not in linked and value is not None:
                    inputs[name] = value
            if name in linked:
                link = linked[name]
                inputs[name] = [name_of[link[1]], link[2]]
        entry = {"class_type": node["type"], "inputs": inputs}
        if node.get("title"):
            entry["_meta"] = {"title": node["title"]}
        api[name_of[node["id"]]] = entry
    return api


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)
