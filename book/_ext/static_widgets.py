"""Static stand-ins for live widgets on the book's pages.

A widget needs a running kernel; a static page has none. MyST-NB would emit an empty placeholder that a
widget manager loaded from a CDN fills in. Instead, every widget view is replaced by a note saying the
widget is live only in Jupyter (JupyterLab, Colab, Binder) and a snapshot of its state at the end of the
build's execution, read from the widget state the executor stores in the notebook: the previews (PNG
images), the outputs an Output widget captured (``ipywidgets.interactive``'s figure), the status line and each
control's description and value. A widget without controls (a tqdm
progress bar) is shown as its last state, without the note. The page works offline.
"""
from __future__ import annotations

import html
import json
from typing import Any

from docutils import nodes

NOTE = ("<b>Live widget.</b> Its sliders and buttons drive the training only in a running notebook "
        "(JupyterLab, Colab or Binder: use the launch buttons at the top of this page). "
        "Below is a snapshot of it when this page was built.")


INTERACTIVE = {"DropdownModel", "CheckboxModel", "ButtonModel", "ToggleButtonModel", "ToggleButtonsModel",
               "RadioButtonsModel", "SelectModel", "SelectMultipleModel", "TextModel", "TextareaModel",
               "IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel"}


def _model(state: dict[str, Any], ref: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(ref, str) and ref.startswith("IPY_MODEL_"):
        ref = ref[len("IPY_MODEL_"):]
    return (ref, state[ref]) if isinstance(ref, str) and ref in state else None


def _output_html(output: dict[str, Any]) -> str:
    """One captured notebook output (a figure, HTML or text) as static HTML."""
    data = output.get("data") or {}
    if "image/png" in data:
        return (f'<img alt="widget output" style="max-width:520px;margin:4px" '
                f'src="data:image/png;base64,{str(data["image/png"]).strip()}"/>')
    if "text/html" in data:
        return "".join(data["text/html"]) if isinstance(data["text/html"], list) else str(data["text/html"])
    if "text/markdown" in data:
        from markdown_it import MarkdownIt

        text = data["text/markdown"]
        return MarkdownIt("commonmark").enable("table").render("".join(text) if isinstance(text, list) else text)
    text = data.get("text/plain") if data else output.get("text")
    if text:
        return f"<pre>{html.escape(''.join(text) if isinstance(text, list) else str(text))}</pre>"
    return ""


def snapshot_html(state: dict[str, Any], model_id: str) -> str:
    """HTML for a widget tree, laid out like its boxes: images as data URIs, HTML and labels as text,
    progress bars as <progress>, and the controls listed as 'description: value'."""
    controls: list[str] = []
    interactive = False

    def walk(entry: dict[str, Any], depth: int = 0) -> str:
        nonlocal interactive
        if depth > 20:
            return ""
        name, s = entry.get("model_name", ""), entry.get("state", {})
        if name in INTERACTIVE or name.endswith("SliderModel"):
            interactive = True
            if "value" in s and s.get("description") and name != "ButtonModel":
                controls.append(f"{html.escape(str(s['description']))}: "
                                f"<code>{html.escape(str(s['value']))}</code>")
            return ""
        if name == "ImageModel":
            return "".join(
                f'<img alt="widget preview" style="max-width:520px;margin:4px" '
                f'src="data:image/{html.escape(s.get("format", "png"))};base64,{buf["data"]}"/>'
                for buf in entry.get("buffers", [])
                if buf.get("path") == ["value"] and buf.get("encoding") == "base64" and buf.get("data"))
        if name in ("HTMLModel", "HTMLMathModel"):
            return f"<span style='margin-right:0.5em'>{s['value']}</span>" if s.get("value") else ""
        if name == "LabelModel":
            return f"<span style='margin-right:0.5em'>{html.escape(str(s['value']))}</span>" if s.get("value") else ""
        if name == "OutputModel":  # e.g. ipywidgets.interactive's figure: the outputs the executor captured
            inner = "".join(_output_html(o) for o in s.get("outputs") or [])
            return f'<div class="ragteach-widget-output">{inner}</div>' if inner else ""
        if name in ("FloatProgressModel", "IntProgressModel"):
            return (f"<progress value='{s.get('value', 0)}' max='{s.get('max', 100)}' "
                    f"style='margin-right:0.5em'></progress>")
        inner = "".join(walk(found[1], depth + 1) for found in map(lambda c: _model(state, c), s.get("children") or [])
                        if found)
        if not inner:
            return ""
        if name == "HBoxModel":
            return f'<div style="display:flex;flex-wrap:wrap;align-items:center">{inner}</div>'
        return f"<div>{inner}</div>"

    found = _model(state, model_id)
    body = walk(found[1]) if found else ""
    if found and not interactive:  # a progress bar or a picture: its last state is all there is
        return f'<div class="ragteach-widget-static">{body}</div>'
    parts = [f'<div class="ragteach-widget-note admonition note"><p>{NOTE}</p>']
    if controls:
        parts.append("<p>Controls: " + " · ".join(controls) + "</p>")
    parts.append(body)
    if not found:
        parts.append("<p><i>(no saved state for this widget)</i></p>")
    parts.append("</div>")
    return "".join(parts)


def _render_widget_view(self, data) -> list[nodes.Element]:
    content = data.content if isinstance(data.content, dict) else json.loads(data.string)
    model_id = content.get("model_id", "")
    try:
        metadata = self.renderer.nb_client.notebook.metadata
        state = metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    except Exception:  # no executed notebook at hand
        state = {}
    return [nodes.raw(text=snapshot_html(dict(state), model_id), format="html")]


def _hide_stale_hints(app, pagename, templatename, context, doctree) -> None:
    """The live view's "re-run this cell" hint (``ragteach.live.widgets.STALE_HINT``) is for a notebook
    reopened from disk; a page shows the snapshot instead, so the hint is hidden there."""
    context["metatags"] = context.get("metatags", "") + "<style>.ragteach-stale-hint{display:none}</style>"


def setup(app):
    from myst_nb.core.render import NbElementRenderer

    NbElementRenderer.render_widget_view = _render_widget_view
    app.connect("html-page-context", _hide_stale_hints)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
