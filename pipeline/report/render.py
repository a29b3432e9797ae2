"""Writes the report page: one self-contained HTML file, data embedded as JSON.

The script and the style are hand-written here (``feedback.js`` and
``report.js``, one block; ``report.css``) and inlined, because the page must
open with no network at all: no CDN, no vendored framework. A
Content-Security-Policy with the hashes of exactly those two inline blocks
makes the browser refuse anything else (another script, a remote font or
image, a fetch, an inline event handler), so "no network at view time" is
enforced by the browser, not only intended. The data sits in a
``type="application/json"`` block (parsed, never executed) with every ``<``
escaped, so no title in the data can close the block. The feedback link's
href is a ``data:`` URL: saving it is a download, not a load the policy
refuses (the browser test saves one).
"""

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any


def _asset(name: str) -> str:
    return resources.files("pipeline.report").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def embed_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` block: no ``<`` survives unescaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_html(model: dict[str, Any]) -> str:
    """The whole page for ``model`` (see ``pipeline.report.model.build_model``)."""
    # One block: feedback.js defines what report.js calls.
    script = _asset("feedback.js") + "\n" + _asset("report.js")
    style = _asset("report.css")
    policy = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = html.escape(f"threadwatch report — {model['folder']}")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header class="top">
<h1 id="title">{title}</h1>
<dl class="counts" id="counts"></dl>
<p class="warning" id="warning"></p>
<details id="dead"></details>
<p class="feedback" id="feedback">
<a id="fb-download" download="feedback.jsonl">Download feedback (0)</a>
<span class="muted">· your verdicts on this page's alerts: lines to append to
config/feedback.jsonl</span></p>
</header>
<div class="layout">
<main>
<form class="filters" id="filters">
<label>Thread <select id="f-thread"></select></label>
<label>From <input type="date" id="f-from"></label>
<label>To <input type="date" id="f-to"></label>
<label class="check"><input type="checkbox" id="f-alerts"> Alerts only</label>
</form>
<details id="alerts"></details>
<div id="threads"></div>
</main>
<aside class="side" id="detail"></aside>
</div>
<script type="application/json" id="report-data">{embed_json(model)}</script>
<script>{script}</script>
</body>
</html>
"""
