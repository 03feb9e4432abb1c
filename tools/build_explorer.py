"""Build the in-browser explorer: compile its SIMD kernels, minify it into the assets.

Source (edit these):

- ``initcourse/explorer/src/initcourse-explorer.js``: readable JavaScript (numerics and
  interface);
- ``initcourse/explorer/wasm/kernels.wat``: WebAssembly text of the dense products.

Output (generated, committed, shipped; the website copies it to ``_static``):
``initcourse/explorer/assets/initcourse-explorer.js``.

Step 1 compiles ``kernels.wat`` with the npm package ``wabt`` and embeds the binary,
base64, in the source at the marker ``@@WASM@@`` (so the source runs as it is, e.g.
under Node.js for quick checks). Step 2 minifies the source with the npm package
``terser`` (mangling and compression) and writes the output with a first line that
records the source's SHA-256; ``tests/test_explorer.py`` fails when the output is older
than the source. Minifying halves the weight of the three copies the site serves (the
page and the chapter 1 and 4 embeds).

The source is formatted with the npm package ``prettier`` (``--print-width 88
--trailing-comma es5``), so its lines fit in 88 columns (but the embedded binary's).

The npm packages are build tools at pinned versions (wabt: Apache-2.0, terser:
BSD-2-Clause, prettier: MIT); nothing of them ships. Node.js must be on the PATH::

    npm install --prefix /tmp/explorer-build wabt@1.0.37 terser@5.51.4 prettier@3.6.2
    M=/tmp/explorer-build/node_modules
    .venv/bin/python tools/build_explorer.py --node-modules $M
    .venv/bin/python tools/build_explorer.py --node-modules $M --check
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAT = ROOT / "initcourse" / "explorer" / "wasm" / "kernels.wat"
SRC = ROOT / "initcourse" / "explorer" / "src" / "initcourse-explorer.js"
OUT = ROOT / "initcourse" / "explorer" / "assets" / "initcourse-explorer.js"
VERSIONS = {"wabt": "1.0.37", "terser": "5.51.4"}
WASM_LINE = re.compile(
    r'^(\s*)var WASM_B64 =(\s*)"[A-Za-z0-9+/=]*"; /\*@@WASM@@\*/$', flags=re.M
)
HEADER = (
    "/*! initcourse explorer, MIT license. Built by tools/build_explorer.py "
    "(terser {terser}) from {src} sha256:{sha} */\n"
)

WAT2WASM = """
const wabt = require(process.argv[1]);
const src = require('fs').readFileSync(0, 'utf8');
wabt().then((w) => {
  const m = w.parseWat('kernels.wat', src, { simd: true });
  m.validate();
  process.stdout.write(Buffer.from(m.toBinary({}).buffer).toString('base64'));
});
"""

MINIFY = """
const { minify } = require(process.argv[1]);
const src = require('fs').readFileSync(0, 'utf8');
minify(src, { ecma: 2017, compress: { passes: 2 }, mangle: true,
              format: { comments: false, ascii_only: false } })
  .then((r) => process.stdout.write(r.code));
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def header_for(source: str) -> str:
    return HEADER.format(
        terser=VERSIONS["terser"],
        src=SRC.relative_to(ROOT).as_posix(),
        sha=sha256(source),
    )


def package_dir(modules: Path, name: str) -> Path:
    folder = modules / name
    version = json.loads((folder / "package.json").read_text(encoding="utf-8"))[
        "version"
    ]
    if version != VERSIONS[name]:
        wanted = f"{name} {VERSIONS[name]}"
        raise SystemExit(
            f"--node-modules: expected the npm package {wanted}, found {version}"
        )
    return folder.resolve()


def node(script: str, module: Path, stdin: str) -> str:
    proc = subprocess.run(
        ["node", "-e", script, str(module)],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"node failed:\n{proc.stderr}")
    return proc.stdout


def with_wasm(source: str, modules: Path) -> str:
    """The source with the freshly compiled kernels embedded."""
    b64 = node(WAT2WASM, package_dir(modules, "wabt"), WAT.read_text(encoding="utf-8"))
    base64.b64decode(b64, validate=True)
    match = WASM_LINE.search(source)
    if match is None:
        raise SystemExit(
            f'{SRC.relative_to(ROOT)}: no line `var WASM_B64 = "..."; /*@@WASM@@*/`'
        )
    return (
        source[: match.start()]
        + f'{match.group(1)}var WASM_B64 ={match.group(2)}"{b64}"; /*@@WASM@@*/'
        + source[match.end() :]
    )


def minified(source: str, modules: Path) -> str:
    code = node(MINIFY, package_dir(modules, "terser"), source)
    if "</script" in code.lower():
        raise SystemExit(
            "the minified code contains '</script' and could not be inlined in a page"
        )
    return header_for(source) + code + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--node-modules",
        type=Path,
        required=True,
        help="folder holding the npm packages wabt and terser",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the source or the output is out of date",
    )
    args = parser.parse_args(argv)
    source = SRC.read_text(encoding="utf-8")
    new_source = with_wasm(source, args.node_modules)
    new_out = minified(new_source, args.node_modules)
    if args.check:
        stale = [
            p.relative_to(ROOT).as_posix()
            for p, new in ((SRC, new_source), (OUT, new_out))
            if not p.exists() or p.read_text(encoding="utf-8") != new
        ]
        print("out of date: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    SRC.write_text(new_source, encoding="utf-8")
    OUT.write_text(new_out, encoding="utf-8")
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(new_out.encode()) / 1024:.1f} KB "
        f"(source {len(new_source.encode()) / 1024:.1f} KB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
