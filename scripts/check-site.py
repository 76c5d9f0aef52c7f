"""Checks a built pkgdown site (build/site) offline: every page parses, every local link and
image resolves to a file, every image is a readable PNG/SVG/JPEG, and headless Chromium
renders every page (its DOM after rendering holds the page's main content).
Prints one line per problem and, last, "N passed, N failed" (one test per page)."""
import html.parser
import os
import subprocess
import sys
import urllib.parse

root = sys.argv[1] if len(sys.argv) > 1 else "build/site"
chromium = next((c for c in ("chromium", "chromium-browser", "google-chrome") if
                 subprocess.call(["which", c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0), None)


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            (self.images if tag == "img" else self.links).append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])


def local_target(page, ref):
    parts = urllib.parse.urlsplit(ref)
    if parts.scheme or ref.startswith("#") or ref.startswith("//") or ref.startswith("mailto:"):
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(page), urllib.parse.unquote(parts.path)))
    return os.path.join(target, "index.html") if os.path.isdir(target) else target


def readable_image(path):
    with open(path, "rb") as f:
        head = f.read(16)
    return head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8") or b"<svg" in open(path, "rb").read(512) \
        or head.startswith(b"<?xml")


passed = failed = 0
pages = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".html"))
for page in pages:
    problems = []
    parser = Links()
    parser.feed(open(page, encoding="utf-8").read())
    for ref in parser.links:
        target = local_target(page, ref)
        if target is not None and not os.path.exists(target):
            problems.append("broken link " + ref)
    for ref in parser.images:
        target = local_target(page, ref)
        if target is None:
            if not ref.startswith("data:"):
                problems.append("external image " + ref)
            continue
        if not os.path.exists(target):
            problems.append("missing image " + ref)
        elif not readable_image(target):
            problems.append("unreadable image " + ref)
    if chromium is not None:
        out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                              "--dump-dom", "file://" + os.path.abspath(page)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0 or "<main" not in out.stdout:
            problems.append("Chromium did not render it (%d)" % out.returncode)
    if problems:
        failed += 1
        print("%s: %s" % (os.path.relpath(page, root), "; ".join(sorted(set(problems)))))
    else:
        passed += 1
print("checked %d pages (%s)" % (len(pages), "rendered in Chromium" if chromium else "Chromium not found"))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or not pages else 0)
