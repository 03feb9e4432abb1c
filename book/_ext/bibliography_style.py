"""Bibliography entries labelled as cited in the text, linking back to the citing pages.

The chapters cite in author-year style (``bibtex_reference_style = author_year``):
"Glorot and Bengio, 2010". The default bibliography style labelled the same entry
"[GB10]", and built its alpha labels from raw LaTeX, so accented names came out as
"GDollarG+17" or "KrahenbuhlDDD16".

* :class:`AuthorYearLabelStyle` (pybtex label style ``initcourse_author_year``) labels
  an entry with the very text of its in-text citation: the reference style's author
  template (sphinxcontrib-bibtex's :class:`PersonStyle`, so "et al." and "and" agree)
  rendered as plain text, with LaTeX accents decoded (Krähenbühl, Müller, Dollár), a
  comma and the year. Two entries that would share a label get "2017a", "2017b".
* :class:`AuthorYearStyle` (pybtex formatting style ``initcourse``, set as
  ``bibtex_default_style`` in ``_config.yml``) is the ``plain`` style, sorted by author,
  year and title, with those labels.
* After the references are resolved, every entry of the bibliography page gets a line
  "Cited in: ch. 1, ch. 3, Corrections" whose links go to the first citation on each
  page, in book order (``doctree-resolved``).

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pybtex.plugin
from docutils import nodes
from pybtex.database import Entry
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.style.referencing import PersonStyle

LABEL_STYLE = "initcourse_author_year"
FORMATTING_STYLE = "initcourse"


def author_year(entry: Entry, person: PersonStyle | None = None) -> str:
    """The in-text citation of ``entry`` as plain text: "Glorot and Bengio, 2010"."""
    person = person or PersonStyle()
    template = person.author_or_editor_or_title(full=False)
    authors = template.format_data(
        {"entry": entry, "style": SimpleNamespace(person=person)}
    )
    return f"{authors.render_as('text')}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Label each entry with its author-year citation; repeats get a, b, ..."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        count: dict[str, int] = defaultdict(int)
        for label in labels:
            count[label] += 1
        seen: dict[str, int] = defaultdict(int)
        for label in labels:
            if count[label] > 1:
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` style (sorted by author, year, title), author-year labels."""

    default_label_style = LABEL_STYLE


def page_label(app: Sphinx, docname: str) -> str:
    """How "Cited in" names a citing page.

    "ch. 3" for a numbered chapter, "introduction" for the book's first page, else the
    page's title.
    """
    env = app.env
    if docname == app.config.root_doc:
        return "introduction"
    title = env.titles[docname].astext() if docname in env.titles else docname
    number, _, rest = title.partition(". ")
    if number.isdigit() and rest:
        return f"ch. {number}"
    return title


def add_cited_in(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: under each bibliography entry, link the pages citing it."""
    from sphinxcontrib.bibtex.domain import BibtexDomain

    domain = cast(BibtexDomain, app.env.get_domain("cite"))
    keys_here = {
        c.citation_id: c.key
        for c in domain.citations
        if c.bibliography_key.docname == docname
    }
    if not keys_here:
        return
    order = {d: i for i, d in enumerate(_book_order(app))}
    first_ref: dict[str, dict[str, str]] = defaultdict(
        dict
    )  # key -> docname -> first reference id
    for ref in sorted(
        domain.citation_refs, key=lambda r: (order.get(r.docname, 10**6), r.line or 0)
    ):
        for target in ref.targets:
            first_ref[target.key].setdefault(ref.docname, ref.citation_ref_id)
    for citation in doctree.findall(nodes.citation):
        ids = [i for i in citation["ids"] if i in keys_here]
        if not ids:
            continue
        pages = first_ref.get(keys_here[ids[0]], {})
        if not pages:
            continue
        para = nodes.paragraph(classes=["cited-in"])
        para += nodes.Text("Cited in: ")
        for i, (page, ref_id) in enumerate(
            sorted(pages.items(), key=lambda p: order.get(p[0], 10**6))
        ):
            if i:
                para += nodes.Text(", ")
            uri = app.builder.get_relative_uri(docname, page) + "#" + ref_id
            title = app.env.titles[page].astext() if page in app.env.titles else page
            para += nodes.reference(
                "", page_label(app, page), internal=True, refuri=uri, reftitle=title
            )
        citation += para


def disambiguate_in_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: an in-text citation carries its entry's a/b suffix.

    Two entries with the same author-year ("Zhang et al., 2023") are labelled 2023a and
    2023b in the bibliography; the in-text citation, which sphinxcontrib-bibtex writes
    from the author and year fields, gets the same letter so the two match.
    """
    from sphinxcontrib.bibtex.domain import BibtexDomain

    domain = cast(BibtexDomain, app.env.get_domain("cite"))
    suffixed = {}
    for c in domain.citations:
        label = getattr(c.formatted_entry, "label", "") or ""
        year = str(c.entry.fields.get("year", ""))
        if year and label.endswith(tuple(year + ch for ch in string.ascii_lowercase)):
            suffixed[c.citation_id] = (year, label[len(label) - len(year) - 1 :])
    if not suffixed:
        return
    for ref in doctree.findall(nodes.reference):
        target = str(ref.get("refuri", "")).rpartition("#")[2] or ref.get("refid", "")
        if target not in suffixed:
            continue
        year, year_letter = suffixed[target]
        for text in list(ref.findall(nodes.Text)):
            if text.astext().endswith(year):
                text.parent.replace(
                    text, nodes.Text(text.astext()[: -len(year)] + year_letter)
                )
                break


def _book_order(app: Sphinx) -> list[str]:
    """Document names in reading order (the table of contents), then the rest."""
    from sphinxcontrib.bibtex.domain import get_docnames

    return list(get_docnames(app.env))


def setup(app: Sphinx) -> dict[str, Any]:
    pybtex.plugin.register_plugin(
        "pybtex.style.labels", LABEL_STYLE, AuthorYearLabelStyle
    )
    pybtex.plugin.register_plugin(
        "pybtex.style.formatting", FORMATTING_STYLE, AuthorYearStyle
    )
    app.setup_extension("sphinxcontrib.bibtex")
    app.connect("doctree-resolved", add_cited_in)
    app.connect("doctree-resolved", disambiguate_in_text)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
