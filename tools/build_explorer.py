"""Compile the explorer's SIMD kernels (initcourse/explorer/wasm/kernels.wat) and embed them.

The in-browser explorer runs its dense products in WebAssembly SIMD (about ten times faster than
plain JavaScript; it falls back to JavaScript where SIMD is missing). The binary is embedded,
base64, in ``initcourse/explorer/assets/initcourse-explorer.js`` on the line that carries the
marker ``@@WASM@@``, so the explorer stays a single file that also works from ``file://``.

Compiling needs Node.js and the npm package ``wabt`` at a pinned version (Apache-2.0), which is
a build tool only: nothing of it ships. For example::

    npm install --prefix /tmp/wabt wabt@1.0.37
    .venv/bin/python tools/make_explorer_wasm.py --wabt /tmp/wabt/node_modules/wabt
    .venv/bin/python tools/make_explorer_wasm.py --wabt /tmp/wabt/node_modules/wabt --check
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAT = ROOT / "initcourse" / "explorer" / "wasm" / "kernels.wat"
JS = ROOT / "initcourse" / "explorer" / "assets" / "initcourse-explorer.js"
WABT_VERSION = "1.0.37"
LINE = re.compile(r'^(\s*)var WASM_B64 = "[A-Za-z0-9+/=]*"; /\*@@WASM@@\*/$', flags=re.M)

COMPILE = """
const wabt = require(process.argv[1]);
const src = require('fs').readFileSync(0, 'utf8');
wabt().then((w) => {
  const m = w.parseWat('kernels.wat', src, { simd: true });
  m.validate();
  process.stdout.write(Buffer.from(m.toBinary({}).buffer).toString('base64'));
});
"""


def compile_wat(wabt_dir: Path) -> str:
    """Base64 of the WebAssembly binary of kernels.wat, compiled by wabt (Node.js)."""
    version = json.loads((wabt_dir / "package.json").read_text(encoding="utf-8"))["version"]
    if version != WABT_VERSION:
        raise SystemExit(f"--wabt: expected the npm package wabt {WABT_VERSION}, found {version} in {wabt_dir}")
    proc = subprocess.run(["node", "-e", COMPILE, str(wabt_dir.resolve())], input=WAT.read_text(encoding="utf-8"),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"wabt failed:\n{proc.stderr}")
    base64.b64decode(proc.stdout, validate=True)
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wabt", type=Path, required=True, help="folder of the npm package wabt")
    parser.add_argument("--check", action="store_true", help="exit 1 if the embedded binary is out of date")
    args = parser.parse_args(argv)
    b64 = compile_wat(args.wabt)
    text = JS.read_text(encoding="utf-8")
    match = LINE.search(text)
    if match is None:
        raise SystemExit(f"{JS.relative_to(ROOT)}: no line `var WASM_B64 = \"...\"; /*@@WASM@@*/`")
    new = text[: match.start()] + f'{match.group(1)}var WASM_B64 = "{b64}"; /*@@WASM@@*/' + text[match.end():]
    if args.check:
        print("up to date" if new == text else "out of date: run tools/make_explorer_wasm.py")
        return 0 if new == text else 1
    JS.write_text(new, encoding="utf-8")
    print(f"embedded {len(base64.b64decode(b64))} bytes of WebAssembly in {JS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
