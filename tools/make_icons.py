"""Render the PNG app icons from their SVG sources with Debian's Chromium (no image library).

    /tmp/v/bin/python tools/make_icons.py      # or .venv/bin/python; rewrites static/icons/*.png

icon.svg (rounded corners, transparent outside) gives the "any" icons; icon-maskable.svg (full
bleed) gives the maskable icon and the Apple touch icon, which iOS rounds itself and which must
not be transparent. Commit the PNGs: the app serves them as they are.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
CHROMIUM = "/usr/bin/chromium"
# (output, source, size in px)
TARGETS = [
    ("icon-192.png", "icon.svg", 192),
    ("icon-512.png", "icon.svg", 512),
    ("icon-maskable-512.png", "icon-maskable.svg", 512),
    ("apple-touch-icon.png", "icon-maskable.svg", 180),
]


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for output, source, size in TARGETS:
            page = browser.new_page(viewport={"width": size, "height": size},
                                    device_scale_factor=1)
            svg = (ICONS / source).read_text()
            page.set_content(
                "<!doctype html><style>html,body{margin:0;background:transparent}"
                f"svg{{display:block;width:{size}px;height:{size}px}}</style>{svg}"
            )
            page.screenshot(path=str(ICONS / output), omit_background=True)
            page.close()
            print(f"wrote static/icons/{output} ({size}x{size})")
        browser.close()


if __name__ == "__main__":
    main()
