"""Draw bench/scaling.py's results: plotly HTML + PNG (two panels: clips/s by batch size, by clip length).

    python bench/plot_scaling.py scaling.json --out docs/     # writes docs/scaling.html and docs/scaling.png

The PNG is a screenshot of the HTML in headless Chromium (Playwright), the browser the test suite already uses,
so no separate image-export engine is needed.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def figure(results: dict) -> go.Figure:
    by_batch, by_length = results["by_batch"], results["by_length"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"clips/s by batch size ({by_batch['clip_seconds']}-s clips)",
        f"clips/s by clip length (batch {by_length['batch']})"))
    colours = {"fp32 eager": "#636efa", "bf16": "#ef553b"}
    for name, rates in by_batch["clips_per_s"].items():
        fig.add_trace(go.Scatter(x=by_batch["batch"], y=rates, mode="lines+markers", name=name,
                                 line={"color": colours.get(name)}, legendgroup=name), row=1, col=1)
    for name, rates in by_length["clips_per_s"].items():
        fig.add_trace(go.Scatter(x=by_length["seconds"], y=rates, mode="lines+markers", name=name,
                                 line={"color": colours.get(name)}, legendgroup=name, showlegend=False), row=1, col=2)
    fig.update_xaxes(type="log", tickvals=by_batch["batch"], title_text="batch size (clips)", row=1, col=1)
    fig.update_xaxes(title_text=f"clip length (s): {results['num_frames']} frames + ceil(len/2) audio segments",
                     row=1, col=2)
    fig.update_yaxes(type="log", title_text="clips/s", row=1, col=1)
    fig.update_yaxes(title_text="clips/s", row=1, col=2)
    fig.update_layout(title=f"MER-CLIP inference scaling: {results['clip_model']} on {results['device']}",
                      width=1200, height=500, template="plotly_white")
    return fig


def write_png(fig: go.Figure, path: Path, chromium: str = "/usr/bin/chromium") -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "figure.html"
        fig.write_html(page_file, include_plotlyjs=True, full_html=True)  # inline plotly.js: no network needed
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": fig.layout.width, "height": fig.layout.height})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".main-svg")
            page.screenshot(path=str(path))
            browser.close()


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description="Plot bench/scaling.py results as plotly HTML + PNG.")
    parser.add_argument("results", help="JSON written by bench/scaling.py --out")
    parser.add_argument("--out", default="docs", help="folder for scaling.html and scaling.png")
    parser.add_argument("--name", default="scaling", help="file stem")
    parser.add_argument("--no-png", action="store_true", help="HTML only")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    fig = figure(json.loads(Path(args.results).read_text()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"{args.name}.html"
    fig.write_html(html, include_plotlyjs="cdn")
    written = [html]
    if not args.no_png:
        write_png(fig, out / f"{args.name}.png", args.chromium)
        written.append(out / f"{args.name}.png")
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
