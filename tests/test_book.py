"""The built website, read as files: every page, figure, launch button and asset.

Uses the session fixture ``built_site`` (conftest.py): the book is built once with ``-W
-n``. The real-browser checks (math typeset, images loaded, links, console) are in
test_browser.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, chapter_notebooks, reader_pages, source_of, toc_files

pytestmark = pytest.mark.slow

REPO_URL = (
    re.search(
        r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)",
        (ROOT / "_config.yml").read_text(encoding="utf-8"),
        flags=re.M,
    )
    .group(1)
    .rstrip("/")
)
REPO = REPO_URL.removeprefix("https://github.com/")


def page(site: Path, docname: str) -> BeautifulSoup:
    """The parsed HTML of ``docname``."""
    return BeautifulSoup(
        (site / f"{docname}.html").read_text(encoding="utf-8"), "html.parser"
    )


def article(soup: BeautifulSoup) -> BeautifulSoup:
    """The page's own content (no navigation bars or header buttons)."""
    main = soup.find("article", class_="bd-article")
    assert main is not None, (
        "no <article class='bd-article'> in the page (theme markup changed?)"
    )
    return main


def resolves(site: Path, docname: str, url: str) -> bool:
    """True when the relative ``url`` used on page ``docname`` names a site file."""
    path = unquote(urlsplit(url).path)
    if not path:
        return True
    return ((site / docname).parent / path).resolve().is_file()


def png_figures(nb_path: Path) -> list[dict]:
    """Figure metadata of every code cell of a notebook with an ``image/png`` output."""
    nb = nbformat.read(nb_path, as_version=4)
    figures = []
    for cell in nb.cells:
        if cell.cell_type == "code" and any(
            "image/png" in o.get("data", {}) for o in cell.get("outputs", [])
        ):
            figures.append(dict(cell.metadata.get("mystnb", {})))
    return figures


def markdown_image_count(path: Path) -> int:
    """Images a Markdown page asks for: figure/image directives, ![..](..), <img>."""
    text = path.read_text(encoding="utf-8")
    directives = re.findall(r"^[`:]{3,}\{(?:figure|image)\}", text, flags=re.M)
    return (
        len(directives)
        + len(re.findall(r"!\[[^\]]*\]\(", text))
        + len(re.findall(r"<img\b", text))
    )


READER_PAGES = reader_pages()
CHAPTERS = [p.relative_to(ROOT).with_suffix("").as_posix() for p in chapter_notebooks()]


def test_build_passes_without_warnings(built_site: Path) -> None:
    # the fixture fails on any warning; here check the result is a complete site
    assert (built_site / "index.html").is_file()
    assert (built_site / "searchindex.js").is_file()
    assert (built_site / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.mark.parametrize("docname", toc_files())
def test_every_toc_page_has_html(built_site: Path, docname: str) -> None:
    source_of(docname)  # the source exists
    html = built_site / f"{docname}.html"
    assert html.is_file(), (
        f"{docname} is in _toc.yml but the build wrote no "
        f"{html.relative_to(built_site)}"
    )
    assert article(page(built_site, docname)).find(["h1"]) is not None, (
        f"{docname}.html has no title"
    )


@pytest.mark.parametrize("docname", READER_PAGES)
def test_page_shows_its_figures(built_site: Path, docname: str) -> None:
    body = article(page(built_site, docname))
    imgs = body.find_all("img")
    for img in imgs:
        src = img.get("src", "")
        assert src.startswith("data:image/") or resolves(built_site, docname, src), (
            f"{docname}.html: <img src={src!r}> names no file of the site"
        )
        assert img.get("alt", "").strip(), (
            f"{docname}.html: <img src={src[:60]!r}> has no alt text"
        )
    src_path = source_of(docname)
    if src_path.suffix == ".ipynb":
        figures = png_figures(src_path)
        for meta in figures:
            name = meta.get("figure", {}).get("name")
            assert name, (
                f"{src_path.name}: a cell with a png output has no mystnb.figure.name"
            )
            fig = body.find("figure", id=name)
            assert fig is not None, f"{docname}.html: no <figure id={name!r}>"
            img = fig.find("img")
            assert img is not None, (
                f"{docname}.html: <figure id={name!r}> holds no <img>"
            )
            assert img.get("alt") == meta.get("image", {}).get("alt"), (
                f"{docname}.html: alt of {name} differs"
            )
            assert fig.find("figcaption") is not None, (
                f"{docname}.html: <figure id={name!r}> has no caption"
            )
        generated = [i for i in imgs if "_images/" in i.get("src", "")]
        assert len(generated) >= len(figures), (
            f"{docname}.html shows {len(generated)} output images; the notebook "
            f"stores {len(figures)} png outputs"
        )
    else:
        wanted = markdown_image_count(src_path)
        assert len(imgs) >= wanted, (
            f"{docname}.html shows {len(imgs)} images; its source asks for {wanted}"
        )


@pytest.mark.parametrize("docname", READER_PAGES)
def test_no_unrendered_markdown(built_site: Path, docname: str) -> None:
    body = article(page(built_site, docname))
    for tag in body.find_all(["pre", "code", "script", "style"]):
        tag.decompose()
    text = body.get_text(" ")
    raw_images = re.findall(r"!\[[^\]]*\]\([^)]{0,40}", text)
    assert not raw_images, (
        f"{docname}.html shows Markdown image syntax as text: {raw_images[:3]}"
    )
    raw_directives = re.findall(r"\{(?:cite|ref|numref|eq|doc|glue:\w*)\}`", text)
    assert not raw_directives, (
        f"{docname}.html shows roles as text: {raw_directives[:3]}"
    )


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_has_launch_and_download_buttons(
    built_site: Path, docname: str
) -> None:
    soup = page(built_site, docname)
    hrefs = [a.get("href", "") for a in soup.find_all("a")]
    colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{docname}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/{docname}.ipynb"
    assert soup.find("a", href=colab, title="Launch on Colab") is not None, (
        f"{docname}.html: no Colab button {colab}"
    )
    assert soup.find("a", href=binder, title="Launch on Binder") is not None, (
        f"{docname}.html: no Binder button {binder}"
    )
    download = soup.find("a", class_="btn-download-source-button")
    assert download is not None, (
        f"{docname}.html: no download button; hrefs: {hrefs[:10]}"
    )
    assert download["href"].endswith(f"{Path(docname).name}.ipynb"), download["href"]
    assert resolves(built_site, docname, download["href"]), (
        f"{docname}.html: download link {download['href']} is dead"
    )


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
        scripts = [
            s.get("src", "")
            for s in soup.find_all("script")
            if "mathjax" in s.get("src", "").lower()
        ]
        assert len(scripts) == 1, (
            f"{html.relative_to(built_site)}: MathJax scripts {scripts}"
        )
        rel = html.parent / urlsplit(scripts[0]).path
        assert (
            rel.resolve()
            == (built_site / "_static" / "mathjax" / "tex-chtml.js").resolve()
        ), scripts[0]
        config = " ".join(
            s.get_text()
            for s in soup.find_all("script")
            if "window.MathJax" in s.get_text()
        )
        assert '"processHtmlClass"' in config and '"inlineMath"' in config, config[:300]
    fonts = list(
        (
            built_site
            / "_static"
            / "mathjax"
            / "output"
            / "chtml"
            / "fonts"
            / "woff-v2"
        ).glob("*.woff")
    )
    assert len(fonts) >= 20, "the CommonHTML fonts of MathJax were not copied"
    assert (
        built_site
        / "_static"
        / "mathjax"
        / "input"
        / "tex"
        / "extensions"
        / "boldsymbol.js"
    ).is_file()
    if math_pages == 0:
        pytest.skip(
            "MathJax is in _static, but no page has math yet, so no page loads it"
        )


def test_no_page_loads_assets_from_another_host(built_site: Path) -> None:
    offenders = []
    for html in sorted(built_site.rglob("*.html")):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        for tag in soup.find_all(
            ["script", "link", "img", "iframe", "source", "video", "audio"]
        ):
            if tag.name == "link" and not (
                {"stylesheet", "preload", "icon", "modulepreload"}
                & set(tag.get("rel", []))
            ):
                continue
            for attr in ("src", "href"):
                url = tag.get(attr, "")
                if re.match(r"^(https?:)?//", url):
                    offenders.append(
                        f"{html.relative_to(built_site)}: <{tag.name} {attr}={url}>"
                    )
        for style in soup.find_all("style"):
            offenders += [
                f"{html.relative_to(built_site)}: @import/url {u}"
                for u in re.findall(
                    r"url\(['\"]?(?:https?:)?//[^)]*\)", style.get_text()
                )
            ]
    assert not offenders, "assets loaded from other hosts:\n" + "\n".join(
        offenders[:20]
    )


def _load_extension(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        name, ROOT / "book" / "_ext" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mathjax_config_keeps_existing_settings() -> None:
    ext = _load_extension("offline_mathjax")
    merged = ext.merged_mathjax3_config(
        {"tex": {"inlineMath": [["\\(", "\\)"]]}, "options": {"a": 1}}
    )
    assert merged["tex"]["inlineMath"] == [["\\(", "\\)"]]  # the user's choice wins
    assert merged["tex"]["displayMath"] == [["\\[", "\\]"], ["$$", "$$"]]
    assert merged["options"] == {"a": 1}
    assert ext.merged_mathjax3_config(None)["tex"]["inlineMath"] == [
        ["\\(", "\\)"],
        ["$", "$"],
    ]
    assert (ext.mathjax_distribution() / ext.COMPONENT).is_file()


def test_duplicate_assets_are_dropped() -> None:
    from sphinx.builders.html._assets import _JavaScript

    ext = _load_extension("dedupe_assets")
    body = "const THEBE_JS_URL = 'x'"
    assets = [
        _JavaScript(None, body=body),
        _JavaScript("a.js"),
        _JavaScript("", body=body),
        _JavaScript("b.js"),
    ]
    assert _JavaScript(None, body=body) != _JavaScript(
        "", body=body
    )  # the Sphinx 7.4 behaviour worked around
    kept = ext.unique_assets(assets)
    assert [a.filename for a in kept] == [None, "a.js", "b.js"]


# --------------------------------------------------------------------------------------
# Reading experience (issue 15): weight, Chinese text, bibliography, numbering, header,
# notes
# --------------------------------------------------------------------------------------
CJK = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)


def site_pages(site: Path) -> list[Path]:
    """Every HTML page a reader can open (the theme's template fragments left out)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def test_no_source_maps_and_no_icon_script(built_site: Path) -> None:
    maps = [p.relative_to(built_site).as_posix() for p in built_site.rglob("*.map")]
    assert not maps, f"source maps in the site: {maps}"
    named = [
        p.relative_to(built_site).as_posix()
        for p in [
            *(built_site / "_static").rglob("*.js"),
            *(built_site / "_static").rglob("*.css"),
        ]
        if re.search(
            r"[#@] sourceMappingURL=", p.read_text(encoding="utf-8", errors="replace")
        )
    ]
    assert not named, f"files still naming a source map: {named}"
    assert not (built_site / "_static" / "scripts" / "fontawesome.js").exists()
    assert not list((built_site / "_static").rglob("*.mo")), (
        "message catalogues left in _static"
    )
    users = [
        p.name
        for p in site_pages(built_site)
        if "fontawesome.js" in p.read_text(encoding="utf-8")
    ]
    assert not users, f"pages still loading fontawesome.js: {users}"


def test_mathjax_ships_only_what_pages_load(built_site: Path) -> None:
    mathjax = built_site / "_static" / "mathjax"
    size = sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file())
    assert size < 3_500_000, f"_static/mathjax is {size / 1e6:.1f} MB"
    assert not (mathjax / "tex-mml-chtml.js").exists() and not list(
        mathjax.glob("tex-*svg*.js")
    )
    locales = sorted(p.name for p in (mathjax / "sre" / "mathmaps").glob("*.json"))
    assert locales == ["base.json", "en.json"], locales
    # what the menu's Accessibility > Explorer loads on demand is there
    for part in (
        "a11y/explorer.js",
        "a11y/semantic-enrich.js",
        "a11y/sre.js",
        "input/mml.js",
    ):
        assert (mathjax / part).is_file(), part


def test_chinese_text_is_marked_and_covered_by_the_site_font(built_site: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import cjk_font

    font = built_site / "_static" / "fonts" / cjk_font.FONT_FILE.name
    assert font.is_file(), f"the CJK font {font.name} was not copied to _static/fonts"
    drawn = set(cjk_font.font_chars(font))
    untagged, shown = [], set()
    for html in site_pages(built_site):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        body = soup.body
        if body is None:  # index.html only redirects
            continue
        for tag in body.find_all(["script", "style", "noscript"]):
            tag.decompose()
        for text in body.find_all(string=CJK):
            shown.update(CJK.findall(text))
            inside = [
                p
                for p in text.parents
                if p.name and str(p.get("lang", "")).startswith("zh")
            ]
            if not inside and not any(
                "math" in (p.get("class") or []) for p in text.parents if p.name
            ):
                untagged.append(
                    f"{html.relative_to(built_site)}: {text.strip()[:40]!r}"
                )
    assert len(shown) > 50, (
        f"only {len(shown)} distinct Chinese characters on the whole site?"
    )
    assert not untagged, 'Chinese text outside lang="zh":\n' + "\n".join(untagged[:20])
    missing = sorted(shown - drawn)
    assert not missing, (
        f"the site's CJK font lacks {''.join(missing)}; run tools/cjk_font.py"
    )
    # and the committed font covers every CJK character of the sources (not only the
    # built pages)
    unused_sources = sorted(set(cjk_font.chars_in_use()) - drawn)
    assert not unused_sources, (
        f"sources use {''.join(unused_sources)}, missing from the font"
    )
    assert font.stat().st_size < 150_000, (
        f"{font.name} is {font.stat().st_size / 1000:.0f} kB"
    )


def test_chinese_marking_leaves_markup_and_math_alone() -> None:
    ext = _load_extension("cjk_text")
    html = (
        '<html lang="en"><head><title>Glossary · 术语表</title>'
        '<script>let a = "术";</script></head>'
        '<body><a title="术语表" href="#">Glossary · 术语表</a><!-- 术 -->'
        '<span class="math">\\(\\text{激活} x\\)</span>'
        "<dt>正态分布 · 正太</dt></body></html>"
    )
    marked, seen = ext.mark_chinese(html)
    assert "<title>Glossary · 术语表</title>" in marked and 'let a = "术";' in marked
    assert (
        '<a title="术语表" href="#">Glossary · <span lang="zh">术语表</span></a>'
        in marked
    )
    assert "<!-- 术 -->" in marked and "\\(\\text{激活} x\\)" in marked
    assert '<dt><span lang="zh">正态分布 · 正太</span></dt>' in marked
    assert seen == set("术语表激活正态分布太")


def bibliography_labels(site: Path) -> dict[str, str]:
    """``{entry id: label}`` of the bibliography page (brackets stripped)."""
    soup = page(site, "book/bibliography")
    labels = {}
    for cite in soup.find_all("div", class_="citation"):
        label = cite.find("span", class_="label")
        labels[cite["id"]] = label.get_text().strip("[]")
    return labels


def test_bibliography_labels_are_the_in_text_citations(built_site: Path) -> None:
    labels = bibliography_labels(built_site)
    assert labels, "no entries on the bibliography page"
    for label in labels.values():
        assert re.fullmatch(r"[^\W\d][\w .'’-]*(?: et al\.)?, \d{4}[a-z]?", label), (
            f"not an author-year label: {label!r}"
        )
        assert "{" not in label and "\\" not in label, f"LaTeX left in {label!r}"
    seen = 0
    for docname in CHAPTERS:
        for a in article(page(built_site, docname)).find_all(
            "a", href=re.compile(r"bibliography\.html#")
        ):
            target = a["href"].split("#", 1)[1]
            if target in labels:
                assert a.get_text() == labels[target], (
                    f"{docname}: cited as {a.get_text()!r}, "
                    f"listed as {labels[target]!r}"
                )
                seen += 1
    assert seen > 50, f"only {seen} citations found in the chapters"
    assert any("Krähenbühl" in label for label in labels.values()), sorted(
        labels.values()
    )


def test_bibliography_entries_link_back_to_the_pages_that_cite_them(
    built_site: Path,
) -> None:
    soup = page(built_site, "book/bibliography")
    linked = 0
    for cite in soup.find_all("div", class_="citation"):
        back = cite.find("p", class_="cited-in")
        if back is None:
            continue
        for a in back.find_all("a"):
            path, _, anchor = a["href"].partition("#")
            assert resolves(built_site, "book/bibliography", path), a["href"]
            target = ((built_site / "book") / path).resolve()
            citing = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser")
            ref = citing.find(id=anchor)
            assert ref is not None, f"{a['href']}: no element with id {anchor!r}"
            assert ref.find(
                "a", href=re.compile(rf"bibliography\.html#{cite['id']}$")
            ), f"{a['href']} does not cite entry {cite['id']}"
            linked += 1
    assert linked > 30, f"only {linked} 'Cited in' links"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_exercises_figures_and_equations_are_numbered_per_chapter(
    built_site: Path, docname: str
) -> None:
    body = article(page(built_site, docname))
    number = int(re.match(r"\D*(\d+)", Path(docname).name).group(1))
    titles = [
        t.get_text(" ", strip=True)
        for t in body.find_all("p", class_="admonition-title")
    ]
    exercises = [m.group(1) for t in titles if (m := re.match(r"Exercise (\S+)", t))]
    figures = [
        f.get_text(strip=True) for f in body.select("figcaption span.caption-number")
    ]
    equations = [
        e.get_text(strip=True).rstrip("#") for e in body.find_all("span", class_="eqno")
    ]
    for kind, found, pattern in (
        ("exercise", exercises, "{n}.{k}"),
        ("figure", figures, "Fig. {n}.{k}"),
        ("equation", equations, "({n}.{k})"),
    ):
        expected = [pattern.format(n=number, k=k) for k in range(1, len(found) + 1)]
        assert found == expected, (
            f"{docname}: {kind} numbers {found}, expected {expected}"
        )


def test_one_search_box_dark_mode_and_one_title(built_site: Path) -> None:
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    title = re.search(r"^# (.+)$", intro, flags=re.M).group(1).strip()
    for docname in READER_PAGES:
        soup = page(built_site, docname)
        header = soup.find("header", class_="bd-header")
        assert header is None or not header.find(class_="search-button__button"), (
            f"{docname}: search in the top bar"
        )
        assert soup.find("body")["data-default-mode"] == "auto"
        assert soup.title.get_text().endswith(title), (
            f"{docname}: <title> {soup.title.get_text()!r}"
        )
        logo = soup.find(class_="logo__title")
        assert logo is None or logo.get_text(strip=True) == title, logo


def test_author_notes_are_not_shown_to_readers(built_site: Path) -> None:
    for docname in ("book/glossary", "book/bibliography"):
        text = article(page(built_site, docname)).get_text(" ")
        for note in ("{term}", "{cite}", "Chapters link here", "Chapters cite these"):
            assert note not in text, f"{docname} shows the author note {note!r}"


def test_source_maps_and_icon_script_are_removed(tmp_path: Path) -> None:
    ext = _load_extension("site_weight")
    static = tmp_path / "_static"
    (static / "scripts").mkdir(parents=True)
    (static / "scripts" / "a.js").write_text(
        "let a = 1;\n//# sourceMappingURL=a.js.map\n"
    )
    (static / "scripts" / "a.js.map").write_text("{}")
    (static / "b.css").write_text("p{}\n/*# sourceMappingURL=b.css.map */")
    (static / "scripts" / "fontawesome.js").write_text("x")
    (static / "f.ttf").write_text("t")
    (static / "f.woff2").write_text("w")
    (tmp_path / "p.html").write_text(
        '<link href="_static/scripts/fontawesome.js?d=1" as="script" rel="preload">\n'
        '<script defer src="_static/scripts/fontawesome.js?d=1"></script>\n'
        "<p>kept</p>"
    )
    assert ext.strip_source_maps(static) == (1, 2)
    assert (static / "scripts" / "a.js").read_text() == "let a = 1;\n"
    assert (static / "b.css").read_text() == "p{}"
    assert ext.drop_icon_script(tmp_path) == 1
    assert (tmp_path / "p.html").read_text() == "<p>kept</p>"
    assert not (static / "scripts" / "fontawesome.js").exists()
    assert ext.drop_truetype_icon_fonts(static) == 1 and (static / "f.woff2").exists()
    (static / "locales" / "de" / "LC_MESSAGES").mkdir(parents=True)
    for name in ("booktheme.po", "booktheme.mo"):
        (static / "locales" / "de" / "LC_MESSAGES" / name).write_text("x")
    assert (
        ext.drop_message_catalogues(static) == 2 and not (static / "locales").exists()
    )
