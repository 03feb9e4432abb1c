"""Make the website's Chinese font: Noto Sans CJK SC cut to the book's characters.

Usage::

    .venv/bin/python tools/cjk_font.py          # scan the book, subset, write the font
    .venv/bin/python tools/cjk_font.py --check  # exit 1 if a character is missing

The book's Chinese text (glossary, errata, code comments, the sidebar's "术语表") must
not depend on the reader's system fonts: a minimal Linux install has none and shows
boxes. So the site ships one font, ``book/_static/fonts/NotoSansCJKsc-subset.woff2``,
holding only the characters found in the book's sources (``.md``, ``.ipynb``, ``.bib``,
``.po``, ``.yml`` files), and ``cjk-chars.txt`` next to it lists them. The build
(``book/_ext/cjk_text.py``) warns, and so fails under ``-W``, when a page shows a
character the font lacks: run this tool again and commit both files.

The source font is Noto Sans CJK SC Regular from Debian's package ``fonts-noto-cjk`` at
the version pinned in :data:`DEBIAN_PACKAGE` (SIL Open Font License 1.1, copied next to
the font). The package is downloaded with ``apt-get download`` and unpacked into a
temporary folder; it is not installed, so the machine gains no CJK system font (the
browser test needs it that way). ``--source FILE.ttc`` uses a local copy of
``NotoSansCJK-Regular.ttc`` instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONT_DIR = ROOT / "book" / "_static" / "fonts"
FONT_FILE = FONT_DIR / "NotoSansCJKsc-subset.woff2"
CHARS_FILE = FONT_DIR / "cjk-chars.txt"
LICENSE_FILE = FONT_DIR / "NotoSansCJK-LICENSE.txt"

#: Debian package and version the font comes from (bookworm).
DEBIAN_PACKAGE = ("fonts-noto-cjk", "1:20220127+repack1-1")
TTC_IN_PACKAGE = "usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
COPYRIGHT_IN_PACKAGE = "usr/share/doc/fonts-noto-cjk/copyright"
#: Index of "Noto Sans CJK SC" (Simplified Chinese) in NotoSansCJK-Regular.ttc.
FONT_NAME = "Noto Sans CJK SC"

#: CJK characters: radicals, CJK symbols and punctuation, ideographs (extension A,
#: unified, compatibility), vertical and small forms, half- and full-width forms.
CJK = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)
SOURCE_SUFFIXES = (".md", ".ipynb", ".bib", ".po", ".yml", ".yaml")
SKIP_DIRS = {
    ".git",
    ".venv",
    "_build",
    "node_modules",
    ".ipynb_checkpoints",
    ".pytest_cache",
    "test-artifacts",
}


def source_files(root: Path = ROOT) -> Iterable[Path]:
    """The book's text sources under ``root`` (no build output, no environments)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                yield Path(dirpath) / name


def cjk_chars(texts: Iterable[str]) -> str:
    """The distinct CJK characters of ``texts``, sorted by code point."""
    found: set[str] = set()
    for text in texts:
        found.update(CJK.findall(text))
    return "".join(sorted(found))


def chars_in_use(root: Path = ROOT) -> str:
    """The distinct CJK characters of the book's sources."""
    return cjk_chars(
        p.read_text(encoding="utf-8", errors="replace") for p in source_files(root)
    )


def font_chars(path: Path = FONT_FILE) -> str:
    """The CJK characters the font ``path`` draws (needs ``brotli`` to read woff2)."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(path)).getBestCmap()
    return "".join(sorted(chr(c) for c in cmap if CJK.match(chr(c))))


def sc_font_number(ttc: Path) -> int:
    """Index of :data:`FONT_NAME` in the collection ``ttc``."""
    from fontTools.ttLib import TTCollection

    for number, font in enumerate(TTCollection(str(ttc)).fonts):
        if font["name"].getDebugName(1) == FONT_NAME:
            return number
    raise ValueError(f"{ttc} holds no font named {FONT_NAME!r}")


def subset(ttc: Path, chars: str, out: Path) -> None:
    """Write ``chars`` of :data:`FONT_NAME` in ``ttc`` to ``out`` as woff2, unhinted."""
    from fontTools import subset as ftsubset

    options = ftsubset.Options()
    options.flavor = "woff2"
    options.font_number = sc_font_number(ttc)
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        13,
        14,
    ]  # names, version, copyright and licence
    options.layout_features = ["locl", "vert", "vrt2", "halt", "palt", "kern"]
    font = ftsubset.load_font(str(ttc), options)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    ftsubset.save_font(font, str(out), options)


def download_package(folder: Path) -> Path:
    """``apt-get download`` :data:`DEBIAN_PACKAGE` into ``folder`` and unpack it."""
    name, version = DEBIAN_PACKAGE
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        sys.exit(
            "apt-get/dpkg-deb not found: pass --source with "
            f"{Path(TTC_IN_PACKAGE).name} from {name} {version}"
        )
    subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=folder, check=True)
    deb = next(folder.glob(f"{name}_*.deb"))
    unpacked = folder / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return unpacked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that the font covers the book"
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="NotoSansCJK-Regular.ttc (default: from the Debian package)",
    )
    args = parser.parse_args(argv)

    wanted = chars_in_use()
    if args.check:
        missing = sorted(set(wanted) - set(font_chars()))
        if missing:
            print(
                f"{FONT_FILE.name} lacks {len(missing)} characters the book uses: "
                + "".join(missing)
            )
            print(
                "run `.venv/bin/python tools/cjk_font.py`, commit book/_static/fonts/"
            )
            return 1
        print(f"{FONT_FILE.name} covers the {len(wanted)} CJK characters the book uses")
        return 0

    with tempfile.TemporaryDirectory(prefix="initcourse-font-") as tmp:
        if args.source:
            ttc, copyright_file = args.source, None
        else:
            unpacked = download_package(Path(tmp))
            ttc, copyright_file = (
                unpacked / TTC_IN_PACKAGE,
                unpacked / COPYRIGHT_IN_PACKAGE,
            )
        subset(ttc, wanted, FONT_FILE)
        if copyright_file is not None and copyright_file.is_file():
            LICENSE_FILE.write_text(
                f"The font {FONT_FILE.name} is a subset of {FONT_NAME} Regular,\n"
                f"taken from Debian's package {DEBIAN_PACKAGE[0]} {DEBIAN_PACKAGE[1]}\n"
                "by tools/cjk_font.py.\n"
                "Its licence, as that package states it:\n\n"
                + copyright_file.read_text(encoding="utf-8"),
                encoding="utf-8",
            )
    CHARS_FILE.write_text(wanted + "\n", encoding="utf-8")
    print(
        f"{FONT_FILE.relative_to(ROOT)}: {len(wanted)} characters, "
        f"{FONT_FILE.stat().st_size / 1000:.1f} kB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
