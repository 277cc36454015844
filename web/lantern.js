// Lantern's editor extension: shows what a Lantern node reports after it runs, on the node itself.
// - `text` in a node's UI output (readings, schedules, reports) appears in a read-only text box;
// - `lantern_palette` (a list of "#rrggbb" swatches) is drawn as a colour strip under the node's widgets.
// Everything shown is computed by the Python side; this file only displays it.
import { app } from "../../scripts/app.js";
import { ComfyWidgets } from "../../scripts/widgets.js";

const OUTPUT_WIDGET = "lantern_output";

function showText(node, lines) {
  let widget = node.widgets?.find((w) => w.name === OUTPUT_WIDGET);
  if (!widget) {
    widget = ComfyWidgets.STRING(node, OUTPUT_WIDGET, ["STRING", { multiline: true }], app).widget;
    widget.inputEl.readOnly = true;
    widget.inputEl.style.opacity = 0.85;
    widget.serializeValue = () => undefined; // display only: never saved into the workflow
  }
  widget.value = lines.join("\n");
  node.setSize([node.size[0], Math.max(node.size[1], node.computeSize()[1])]);
}

function drawPalette(node, ctx) {
  const palette = node.lanternPalette;
  if (!palette?.length || node.flags?.collapsed) return;
  const height = 18;
  const top = node.size[1] - height - 6;
  const width = (node.size[0] - 20) / palette.length;
  palette.forEach((colour, index) => {
    ctx.fillStyle = colour;
    ctx.fillRect(10 + index * width, top, width - 2, height);
  });
}

app.registerExtension({
  name: "lantern.nodeOutputs",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!nodeData.name?.startsWith("Lantern")) return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      if (Array.isArray(message?.text) && message.text.length) showText(this, message.text.map(String));
      if (Array.isArray(message?.lantern_palette)) {
        this.lanternPalette = message.lantern_palette;
        this.setDirtyCanvas(true, false);
      }
    };
    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      onDrawForeground?.apply(this, arguments);
      drawPalette(this, ctx);
    };
  },
});
