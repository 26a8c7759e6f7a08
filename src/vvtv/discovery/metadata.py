"""Metadata from a video page: Open Graph, JSON-LD `VideoObject`, microdata and the DOM.

A script in the page gathers the raw markup (COLLECT_SCRIPT); the Python
below decides what it means, so the rules can be tested without a browser.
The first source that has a field wins, in the order JSON-LD, microdata, Open
Graph, DOM; `sources` records where each field came from.

All of it is written by whoever made the page: the script caps what it reads,
RawPage checks the types and caps again, and what is kept (PageMetadata) has
its control characters removed and its lengths capped before it is stored,
judged or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urljoin

from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from vvtv.discovery.browser import PageFailed
from vvtv.text import CONTROL, clean_paragraphs, clean_text

COLLECT_SCRIPT = r"""
() => {
  const cap = (text) => String(text || '').slice(0, 5000);  // a page can put megabytes anywhere
  const first = (selector, n) => [...document.querySelectorAll(selector)].slice(0, n);
  const og = {};
  for (const m of first('meta[property], meta[name^="og:"], meta[name^="video:"]', 200)) {
    const key = cap(m.getAttribute('property') || m.getAttribute('name')).toLowerCase();
    (og[key] = og[key] || []).push(cap(m.getAttribute('content')));
  }
  const jsonld = [];
  for (const s of first('script[type="application/ld+json"]', 8)) {
    if (s.textContent.length > 200000) continue;
    try { jsonld.push(JSON.parse(s.textContent)); } catch (e) { /* broken JSON-LD is ignored */ }
  }
  const microdata = [];
  for (const scope of first('[itemscope][itemtype*="VideoObject" i]', 4)) {
    const props = {};
    for (const el of [...scope.querySelectorAll('[itemprop]')].slice(0, 100)) {
      const value = el.getAttribute('content') || el.getAttribute('href') || el.getAttribute('src') || el.textContent.trim();
      const key = cap(el.getAttribute('itemprop'));
      (props[key] = props[key] || []).push(cap(value));
    }
    microdata.push(props);
  }
  const meta = (name) => cap((document.querySelector(`meta[name="${name}" i]`) || {}).content);
  const licenceLinks = first('a[rel~="license" i], link[rel~="license" i]', 8).map((a) => cap(a.href));
  const text = (document.body ? document.body.innerText : '').slice(0, 20000);
  const licenceTexts = [...text.matchAll(/creative commons(?:[^.\n]|\.\d){0,90}|\bCC[ -](?:BY|0)[A-Z -]*\d\.\d|\bCC0\b|public domain/gi)]
    .slice(0, 8).map((m) => m[0].trim());
  const h1 = document.querySelector('h1');
  const video = document.querySelector('video[poster]');
  return {
    og, jsonld, microdata, licence_links: licenceLinks, licence_texts: licenceTexts,
    title: cap(document.title), h1: h1 ? cap(h1.textContent.trim()) : '',
    description: meta('description'), keywords: meta('keywords'),
    poster: video ? cap(video.poster) : '', url: cap(location.href),
  };
}
"""

ISO_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.IGNORECASE)
UNSTATED_CC = "Creative Commons (variant not stated)"
CC_WORDS = {"attribution": "BY", "sharealike": "SA", "noncommercial": "NC", "noderivatives": "ND", "noderivs": "ND"}

# How much of each thing read from a page is kept: as much as any real video page needs.
MAX_RAW_TEXT = 5000  # any one string as read
MAX_TITLE = 300
MAX_DESCRIPTION = 5000
MAX_TAGS, MAX_TAG = 30, 60
MAX_LICENCE = 120
MAX_URL = 2000
MAX_JSONLD_DEPTH = 12


def _capped(limit: int):  # noqa: ANN202 - a pydantic validator
    def cap(value: Any) -> Any:
        if isinstance(value, str):
            return value[:MAX_RAW_TEXT]
        if isinstance(value, dict):
            return dict(list(value.items())[:limit])
        return value[:limit] if isinstance(value, list) else value

    return BeforeValidator(cap)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value (without recursion: the page chose the depth)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSONLD_DEPTH:
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _shallow(value: Any) -> Any:
    return [item for item in value if _depth(item) <= MAX_JSONLD_DEPTH] if isinstance(value, list) else value


RawText = Annotated[str, _capped(0)]
RawTexts = Annotated[list[RawText], _capped(200)]


class RawPage(BaseModel):
    """What COLLECT_SCRIPT returns, checked before use: the types, and every length capped."""

    og: Annotated[dict[RawText, RawTexts], _capped(200)] = Field(default_factory=dict)
    jsonld: Annotated[list[Any], BeforeValidator(_shallow), _capped(8)] = Field(default_factory=list)
    microdata: Annotated[list[dict[RawText, RawTexts]], _capped(4)] = Field(default_factory=list)
    licence_links: Annotated[list[RawText], _capped(8)] = Field(default_factory=list)
    licence_texts: Annotated[list[RawText], _capped(8)] = Field(default_factory=list)  # visible text naming a licence
    title: RawText = ""
    h1: RawText = ""
    description: RawText = ""
    keywords: RawText = ""
    poster: RawText = ""
    url: RawText = ""


def read_page(value: Any) -> RawPage:
    """COLLECT_SCRIPT's answer as a RawPage; anything else is the page's fault, named as such."""
    try:
        return RawPage.model_validate(value)
    except ValidationError as exc:
        raise PageFailed(f"the page's metadata is not what the script reads ({exc.error_count()} problems: "
                         f"{exc.errors()[0]['msg']} at {'.'.join(map(str, exc.errors()[0]['loc']))})") from None


@dataclass(kw_only=True)
class PageMetadata:
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    duration_s: float | None = None
    thumbnail_url: str | None = None
    page_url: str = ""
    licence: str | None = None  # a short name: "CC BY 4.0", or the words found
    licence_url: str | None = None
    content_url: str | None = None  # what the markup says the media is (the network decides)
    sources: dict[str, str] = field(default_factory=dict)  # field -> "json-ld" | "microdata" | "og" | "dom"


def parse_duration(value: Any) -> float | None:
    """ISO 8601 ("PT1M30S") or plain seconds ("90")."""
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().upper()
    try:
        seconds = float(text)
        return seconds if seconds > 0 else None
    except ValueError:
        pass
    match = ISO_DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds or None


def licence_name(url_or_text: str) -> str | None:
    """'https://creativecommons.org/licenses/by-sa/4.0/' or 'Creative Commons Attribution-ShareAlike 4.0' -> 'CC BY-SA 4.0'."""
    match = CC_URL.search(url_or_text)
    if match:
        kind, code, version = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if kind == "publicdomain":
            return f"CC0 {version}" if code == "zero" else "Public Domain Mark"
        return f"CC {code.upper()} {version}"
    text = url_or_text.strip()
    if re.search(r"creative\s*commons", text, re.IGNORECASE):
        words = re.findall(r"[a-z]+", text.lower().replace("-", " "))
        parts = [CC_WORDS[w] for w in words if w in CC_WORDS]
        version = re.search(r"\d\.\d", text)
        if parts:
            return "CC " + "-".join(dict.fromkeys(parts)) + (f" {version.group(0)}" if version else "")
        return UNSTATED_CC if not re.search(r"zero|cc0", text, re.IGNORECASE) else "CC0"
    short = re.search(r"\bCC[ -](BY(?:-[A-Z]{2})*|0)(?: (\d\.\d))?", text, re.IGNORECASE)
    if short:
        return f"CC {short.group(1).upper()}" + (f" {short.group(2)}" if short.group(2) else "")
    if re.search(r"\bCC0\b", text, re.IGNORECASE):
        return "CC0"
    if re.search(r"public domain", text, re.IGNORECASE):
        return "Public domain"
    return None


def _video_objects(node: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object typed VideoObject, also inside @graph and lists."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found += _video_objects(item)
    elif isinstance(node, dict):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "VideoObject" in kinds:
            found.append(node)
        for key in ("@graph", "video", "mainEntity", "hasPart"):
            if key in node:
                found += _video_objects(node[key])
    return found


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        return _first_text(value[0]) if value else ""
    if isinstance(value, dict):
        return str(value.get("url") or value.get("@id") or value.get("name") or "")
    return str(value).strip() if value is not None else ""


def _tags(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [t.strip() for t in (str(i) for i in items) if t.strip()]


def parse_metadata(raw: RawPage) -> PageMetadata:
    ld = (_video_objects(raw.jsonld) or [{}])[0]
    md = raw.microdata[0] if raw.microdata else {}
    og = {k: v for k, v in raw.og.items() if v}

    def md_first(key: str) -> str:
        return md.get(key, [""])[0].strip()

    def og_first(key: str) -> str:
        return og.get(key, [""])[0].strip()

    result = PageMetadata(page_url=raw.url)
    candidates: dict[str, list[tuple[str, Any]]] = {
        "title": [("json-ld", _first_text(ld.get("name"))), ("microdata", md_first("name")),
                  ("og", og_first("og:title")), ("dom", raw.h1 or raw.title)],
        "description": [("json-ld", _first_text(ld.get("description"))), ("microdata", md_first("description")),
                        ("og", og_first("og:description")), ("dom", raw.description)],
        "duration_s": [("json-ld", parse_duration(_first_text(ld.get("duration")))),
                       ("microdata", parse_duration(md_first("duration"))),
                       ("og", parse_duration(og_first("video:duration") or og_first("og:video:duration")))],
        "thumbnail_url": [("json-ld", _first_text(ld.get("thumbnailUrl"))), ("microdata", md_first("thumbnailUrl")),
                          ("og", og_first("og:image")), ("dom", raw.poster)],
        "content_url": [("json-ld", _first_text(ld.get("contentUrl"))), ("microdata", md_first("contentUrl")),
                        ("og", og_first("og:video") or og_first("og:video:url"))],
        "tags": [("json-ld", _tags(ld.get("keywords"))), ("microdata", _tags(md.get("keywords", []))),
                 ("og", og.get("video:tag", [])), ("dom", _tags(raw.keywords))],
    }  # fmt: skip
    for name, options in candidates.items():
        for source, value in options:
            if value:
                setattr(result, name, value)
                result.sources[name] = source
                break
    licence_options = [
        ("rel=license", raw.licence_links[0] if raw.licence_links else ""),
        ("json-ld", _first_text(ld.get("license"))),
        ("microdata", md_first("license")),
        # Visible text last, and the most specific mention first: a description may say
        # "Creative Commons" in passing before the licence line names the variant.
        *sorted((("text", t) for t in raw.licence_texts), key=lambda o: licence_name(o[1]) == UNSTATED_CC),
    ]
    for source, value in licence_options:
        name = licence_name(value) if value else None
        if name:
            result.licence = name
            result.licence_url = value if value.startswith("http") else None
            result.sources["licence"] = source
            break
    return _cleaned(result)


def _url(value: str | None, base: str = "") -> str | None:
    """An absolute http(s) URL (a relative one resolved against `base`), or None: not one a page could mean."""
    url = urljoin(base, CONTROL.sub("", value or "").strip()) if value else ""
    return url if len(url) <= MAX_URL and re.match(r"^https?://", url, re.IGNORECASE) else None


def _cleaned(meta: PageMetadata) -> PageMetadata:
    """What is kept of the page's words: fit to store, to show on a terminal and to quote to the judge."""
    meta.title = clean_text(meta.title, MAX_TITLE)
    meta.description = clean_paragraphs(meta.description, MAX_DESCRIPTION)
    tags = (clean_text(t, MAX_TAG) for t in meta.tags)
    meta.tags = list(dict.fromkeys(t for t in tags if t))[:MAX_TAGS]
    meta.licence = clean_text(meta.licence, MAX_LICENCE) or None if meta.licence else None
    meta.page_url = _url(meta.page_url) or ""
    meta.thumbnail_url = _url(meta.thumbnail_url, meta.page_url)
    meta.content_url = _url(meta.content_url, meta.page_url)
    meta.licence_url = _url(meta.licence_url, meta.page_url)
    return meta
