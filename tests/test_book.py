"""The built website, read as files: every page, figure, launch button and asset is there.

Uses the session fixture ``built_site`` (conftest.py): the book is built once with ``-W -n``.
The real-browser checks (math typeset, images loaded, links, console) are in test_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup

from conftest import ROOT, chapter_notebooks, reader_pages, source_of, toc_files

pytestmark = pytest.mark.slow

REPO_URL = re.search(
    r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)",
    (ROOT / "_config.yml").read_text(encoding="utf-8"),
    flags=re.M,
).group(1).rstrip("/")
REPO = REPO_URL.removeprefix("https://github.com/")


def page(site: Path, docname: str) -> BeautifulSoup:
    """The parsed HTML of ``docname``."""
    return BeautifulSoup((site / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def article(soup: BeautifulSoup) -> BeautifulSoup:
    """The page's own content (no navigation bars or header buttons)."""
    main = soup.find("article", class_="bd-article")
    assert main is not None, "no <article class='bd-article'> in the page (theme markup changed?)"
    return main


def resolves(site: Path, docname: str, url: str) -> bool:
    """True when the relative ``url`` used on page ``docname`` names a file of the site."""
    path = unquote(urlsplit(url).path)
    if not path:
        return True
    return ((site / docname).parent / path).resolve().is_file()


def png_figures(nb_path: Path) -> list[dict]:
    """Figure metadata of every code cell of a notebook that stores an ``image/png`` output."""
    nb = nbformat.read(nb_path, as_version=4)
    figures = []
    for cell in nb.cells:
        if cell.cell_type == "code" and any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            figures.append(dict(cell.metadata.get("mystnb", {})))
    return figures


def markdown_image_count(path: Path) -> int:
    """Images a Markdown page asks for: figure/image directives, ``![..](..)`` and ``<img``."""
    text = path.read_text(encoding="utf-8")
    directives = re.findall(r"^[`:]{3,}\{(?:figure|image)\}", text, flags=re.M)
    return len(directives) + len(re.findall(r"!\[[^\]]*\]\(", text)) + len(re.findall(r"<img\b", text))


READER_PAGES = reader_pages()
CHAPTERS = [p.relative_to(ROOT).with_suffix("").as_posix() for p in chapter_notebooks()]


def test_build_passes_without_warnings(built_site: Path) -> None:
    # the fixture fails on any warning; here check the result is a complete site
    assert (built_site / "index.html").is_file()
    assert (built_site / "searchindex.js").is_file()
    assert (built_site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


@pytest.mark.parametrize("docname", toc_files())
def test_every_toc_page_has_html(built_site: Path, docname: str) -> None:
    source_of(docname)  # the source exists
    html = built_site / f"{docname}.html"
    assert html.is_file(), f"{docname} is in _toc.yml but the build wrote no {html.relative_to(built_site)}"
    assert article(page(built_site, docname)).find(["h1"]) is not None, f"{docname}.html has no title"


@pytest.mark.parametrize("docname", READER_PAGES)
def test_page_shows_its_figures(built_site: Path, docname: str) -> None:
    body = article(page(built_site, docname))
    imgs = body.find_all("img")
    for img in imgs:
        src = img.get("src", "")
        assert src.startswith("data:image/") or resolves(built_site, docname, src), (
            f"{docname}.html: <img src={src!r}> names no file of the site"
        )
        assert img.get("alt", "").strip(), f"{docname}.html: <img src={src[:60]!r}> has no alt text"
    src_path = source_of(docname)
    if src_path.suffix == ".ipynb":
        figures = png_figures(src_path)
        for meta in figures:
            name = meta.get("figure", {}).get("name")
            assert name, f"{src_path.name}: a cell with a png output has no mystnb.figure.name"
            fig = body.find("figure", id=name)
            assert fig is not None, f"{docname}.html: no <figure id={name!r}>"
            img = fig.find("img")
            assert img is not None, f"{docname}.html: <figure id={name!r}> holds no <img>"
            assert img.get("alt") == meta.get("image", {}).get("alt"), f"{docname}.html: alt of {name} differs"
            assert fig.find("figcaption") is not None, f"{docname}.html: <figure id={name!r}> has no caption"
        generated = [i for i in imgs if "_images/" in i.get("src", "")]
        assert len(generated) >= len(figures), (
            f"{docname}.html shows {len(generated)} output images; the notebook stores {len(figures)} png outputs"
        )
    else:
        wanted = markdown_image_count(src_path)
        assert len(imgs) >= wanted, f"{docname}.html shows {len(imgs)} images; its source asks for {wanted}"


@pytest.mark.parametrize("docname", READER_PAGES)
def test_no_unrendered_markdown(built_site: Path, docname: str) -> None:
    body = article(page(built_site, docname))
    for tag in body.find_all(["pre", "code", "script", "style"]):
        tag.decompose()
    text = body.get_text(" ")
    raw_images = re.findall(r"!\[[^\]]*\]\([^)]{0,40}", text)
    assert not raw_images, f"{docname}.html shows Markdown image syntax as text: {raw_images[:3]}"
    raw_directives = re.findall(r"\{(?:cite|ref|numref|eq|doc|glue:\w*)\}`", text)
    assert not raw_directives, f"{docname}.html shows roles as text: {raw_directives[:3]}"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_has_launch_and_download_buttons(built_site: Path, docname: str) -> None:
    soup = page(built_site, docname)
    hrefs = [a.get("href", "") for a in soup.find_all("a")]
    colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{docname}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/{docname}.ipynb"
    assert soup.find("a", href=colab, title="Launch on Colab") is not None, f"{docname}.html: no Colab button {colab}"
    assert soup.find("a", href=binder, title="Launch on Binder") is not None, f"{docname}.html: no Binder button {binder}"
    download = soup.find("a", class_="btn-download-source-button")
    assert download is not None, f"{docname}.html: no download button; hrefs: {hrefs[:10]}"
    assert download["href"].endswith(f"{Path(docname).name}.ipynb"), download["href"]
    assert resolves(built_site, docname, download["href"]), f"{docname}.html: download link {download['href']} is dead"


def test_intro_has_download_button(built_site: Path) -> None:
    docname = toc_files()[0]
    download = page(built_site, docname).find("a", class_="btn-download-source-button")
    assert download is not None and resolves(built_site, docname, download["href"])


def test_mathjax_is_served_locally(built_site: Path) -> None:
    math_pages = 0
    for html in sorted(built_site.rglob("*.html")):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        if soup.find(class_="math") is None:
            continue
        math_pages += 1
        scripts = [s.get("src", "") for s in soup.find_all("script") if "mathjax" in s.get("src", "").lower()]
        assert len(scripts) == 1, f"{html.relative_to(built_site)}: MathJax scripts {scripts}"
        rel = html.parent / urlsplit(scripts[0]).path
        assert rel.resolve() == (built_site / "_static" / "mathjax" / "tex-mml-chtml.js").resolve(), scripts[0]
        config = " ".join(s.get_text() for s in soup.find_all("script") if "window.MathJax" in s.get_text())
        assert '"processHtmlClass"' in config and '"inlineMath"' in config, config[:300]
    fonts = list((built_site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "the CommonHTML fonts of MathJax were not copied"
    assert (built_site / "_static" / "mathjax" / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
    if math_pages == 0:
        pytest.skip("MathJax is in _static, but no page has math yet, so no page loads it")


def test_no_page_loads_assets_from_another_host(built_site: Path) -> None:
    offenders = []
    for html in sorted(built_site.rglob("*.html")):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        for tag in soup.find_all(["script", "link", "img", "iframe", "source", "video", "audio"]):
            if tag.name == "link" and not ({"stylesheet", "preload", "icon", "modulepreload"} & set(tag.get("rel", []))):
                continue
            for attr in ("src", "href"):
                url = tag.get(attr, "")
                if re.match(r"^(https?:)?//", url):
                    offenders.append(f"{html.relative_to(built_site)}: <{tag.name} {attr}={url}>")
        for style in soup.find_all("style"):
            offenders += [f"{html.relative_to(built_site)}: @import/url {u}" for u in re.findall(r"url\(['\"]?(?:https?:)?//[^)]*\)", style.get_text())]
    assert not offenders, "assets loaded from other hosts:\n" + "\n".join(offenders[:20])


def _load_extension(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mathjax_config_keeps_existing_settings() -> None:
    ext = _load_extension("offline_mathjax")
    merged = ext.merged_mathjax3_config({"tex": {"inlineMath": [["\\(", "\\)"]]}, "options": {"a": 1}})
    assert merged["tex"]["inlineMath"] == [["\\(", "\\)"]]  # the user's choice wins
    assert merged["tex"]["displayMath"] == [["\\[", "\\]"], ["$$", "$$"]]
    assert merged["options"] == {"a": 1}
    assert ext.merged_mathjax3_config(None)["tex"]["inlineMath"] == [["\\(", "\\)"], ["$", "$"]]
    assert (ext.mathjax_distribution() / ext.COMPONENT).is_file()


def test_duplicate_assets_are_dropped() -> None:
    from sphinx.builders.html._assets import _JavaScript

    ext = _load_extension("dedupe_assets")
    body = "const THEBE_JS_URL = 'x'"
    assets = [_JavaScript(None, body=body), _JavaScript("a.js"), _JavaScript("", body=body), _JavaScript("b.js")]
    assert _JavaScript(None, body=body) != _JavaScript("", body=body)  # the Sphinx 7.4 behaviour worked around
    kept = ext.unique_assets(assets)
    assert [a.filename for a in kept] == [None, "a.js", "b.js"]
