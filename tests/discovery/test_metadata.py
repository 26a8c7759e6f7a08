"""Reading metadata: the parsing rules on markup as the page script returns it, and the script in Chromium."""

from __future__ import annotations

import asyncio

import pytest

from vvtv.config import load_settings
from vvtv.discovery.browser import BrowserOptions, BrowserSession, PageFailed
from vvtv.discovery.metadata import COLLECT_SCRIPT, RawPage, licence_name, parse_duration, parse_metadata, read_page


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("PT12S", 12), ("PT1M30S", 90), ("PT1H2M3.5S", 3723.5), ("P1DT1S", 86401), ("90", 90), (42, 42),
     ("PT", None), ("soon", None), ("", None), (0, None), ("-5", None)],
)  # fmt: skip
def test_durations(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", "CC BY 4.0"),
        ("http://creativecommons.org/licenses/by-nc-sa/3.0/deed.en", "CC BY-NC-SA 3.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0 1.0"),
        ("https://creativecommons.org/publicdomain/mark/1.0/", "Public Domain Mark"),
        ("Creative Commons Attribution-ShareAlike 4.0 International", "CC BY-SA 4.0"),
        ("Creative Commons Attribution-NonCommercial-NoDerivatives", "CC BY-NC-ND"),
        ("a Creative Commons piano performance", "Creative Commons (variant not stated)"),
        ("Licence: CC BY 4.0", "CC BY 4.0"),
        ("released as CC0", "CC0"),
        ("this film is in the public domain", "Public domain"),
        ("All rights reserved", None),
    ],
)
def test_licence_names(text: str, name: str | None) -> None:
    assert licence_name(text) == name


def test_json_ld_wins_over_open_graph_and_the_dom() -> None:
    raw = RawPage(
        jsonld=[{"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "name": "a page"},
            {"@type": ["VideoObject"], "name": "From JSON-LD", "description": "d", "duration": "PT2M",
             "thumbnailUrl": ["https://x/t.jpg"], "keywords": "a, b", "license": "https://creativecommons.org/licenses/by/4.0/",
             "contentUrl": "https://x/v.mp4"},
        ]}],
        og={"og:title": ["From OG"], "og:image": ["https://x/og.jpg"], "video:tag": ["og-tag"]},
        title="From the title", url="https://x/watch",
    )  # fmt: skip
    meta = parse_metadata(raw)
    assert (meta.title, meta.duration_s, meta.thumbnail_url, meta.tags) == ("From JSON-LD", 120, "https://x/t.jpg", ["a", "b"])
    assert (meta.licence, meta.licence_url, meta.content_url) == ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/", "https://x/v.mp4")
    assert meta.sources["title"] == "json-ld" and meta.sources["licence"] == "json-ld"


def test_microdata_then_open_graph_then_the_dom() -> None:
    raw = RawPage(
        microdata=[{"name": ["From microdata"], "duration": ["PT30S"], "license": ["https://creativecommons.org/licenses/by-sa/4.0/"]}],
        og={"og:description": ["OG description"], "video:tag": ["x", "y"]},
        h1="From h1", keywords="k1, k2",
    )  # fmt: skip
    meta = parse_metadata(raw)
    assert (meta.title, meta.description, meta.duration_s, meta.tags) == ("From microdata", "OG description", 30, ["x", "y"])
    assert meta.licence == "CC BY-SA 4.0" and meta.sources["licence"] == "microdata"
    bare = parse_metadata(RawPage(h1="Only a heading", title="Tab title", keywords="k1, k2", description="meta"))
    assert (bare.title, bare.tags, bare.description, bare.licence) == ("Only a heading", ["k1", "k2"], "meta", None)


def test_rel_license_wins_and_specific_visible_text_beats_a_passing_mention() -> None:
    linked = RawPage(licence_links=["https://creativecommons.org/licenses/by/4.0/"], licence_texts=["Creative Commons"])
    assert parse_metadata(linked).licence == "CC BY 4.0"
    texts = ["Creative Commons piano music", "Creative Commons Attribution-ShareAlike 4.0 International licence"]
    meta = parse_metadata(RawPage(licence_texts=texts))
    assert meta.licence == "CC BY-SA 4.0" and meta.sources["licence"] == "text" and meta.licence_url is None


PAGE = """<html><head><title>Tab</title>
<meta property="og:title" content="OG title"><meta property="video:tag" content="one"><meta property="video:tag" content="two">
<script type="application/ld+json">{"@type": "VideoObject", "name": "LD title", "duration": "PT12S"}</script>
<script type="application/ld+json">{ not json</script></head>
<body><h1>Heading</h1><div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="name" content="MD title"></div>
<video poster="/p.jpg"></video><p>Shared under CC BY-NC 4.0.</p><a rel="license" href="https://creativecommons.org/licenses/by-nc/4.0/">licence</a></body></html>"""


def test_the_page_script_gathers_every_kind_of_markup_in_chromium() -> None:
    async def collect() -> dict:
        session = BrowserSession(BrowserOptions(executable=load_settings().discovery.chromium_executable(),
                                                 allowed_hosts=["127.0.0.1"]), policy=lambda _url: None)
        async with session:
            page = await session.new_page()
            await page.goto("data:text/html," + PAGE.replace("#", "%23"))
            raw = await page.main.evaluate(COLLECT_SCRIPT)
            await page.close()
            return raw

    raw = RawPage.model_validate(asyncio.run(collect()))
    assert raw.og["video:tag"] == ["one", "two"] and raw.og["og:title"] == ["OG title"]
    assert raw.jsonld == [{"@type": "VideoObject", "name": "LD title", "duration": "PT12S"}]  # broken JSON-LD skipped
    assert raw.microdata == [{"name": ["MD title"]}]
    assert raw.licence_links == ["https://creativecommons.org/licenses/by-nc/4.0/"]
    assert raw.licence_texts == ["CC BY-NC 4.0"]
    assert (raw.h1, raw.title) == ("Heading", "Tab")
    meta = parse_metadata(raw)
    assert (meta.title, meta.duration_s, meta.licence, meta.tags) == ("LD title", 12, "CC BY-NC 4.0", ["one", "two"])


def test_what_a_page_says_is_cleaned_and_capped_before_it_is_kept() -> None:
    escape = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the terminal
    raw = read_page({
        "title": f"Calm{escape} sea\u202e{'x' * 10_000}", "h1": "", "url": "https://site.example/watch?v=1",
        "description": "Line one\x00\x08\r\nline two\x1b[31m red\n\n\n\nfar below" + "y" * 20_000,
        "keywords": ", ".join([f"tag{i}\x1b[0m" for i in range(500)] + ["tag1"]),
        "og": {f"og:extra{i}": ["v"] for i in range(5000)} | {"og:image": ["javascript:alert(1)"]},
        "licence_texts": ["Creative Commons Attribution 4.0\x1b[8m"] * 50,
        "jsonld": [nested(5000), {"@type": "VideoObject", "contentUrl": "https://cdn.example/v.mp4\n"}],
    })  # fmt: skip
    assert len(raw.og) == 200 and len(raw.licence_texts) == 8 and len(raw.title) == 5000
    meta = parse_metadata(raw)
    assert meta.title.startswith("Calm [2J ]0;owned sea xxx") and len(meta.title) == 300
    assert meta.description.startswith("Line one\nline two [31m red\n\nfar below") and 4900 < len(meta.description) <= 5000
    assert meta.tags[:3] == ["tag0 [0m", "tag1 [0m", "tag2 [0m"] and len(meta.tags) == 30
    assert meta.licence == "CC BY 4.0" and meta.content_url == "https://cdn.example/v.mp4"
    assert meta.thumbnail_url is None  # javascript: is no image
    relative = parse_metadata(RawPage(url="https://site.example/watch/1", poster="/posters/1.jpg"))
    assert relative.thumbnail_url == "https://site.example/posters/1.jpg"
    kept = [meta.title, meta.description, *meta.tags, meta.licence]
    assert not any(ch in text for text in kept for ch in "\x1b\x00\x07\x08\r\u202e")


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "problem"),
    [({"title": {"toString": "x"}}, "title"), ({"og": {"og:title": "not a list"}}, "og.og:title"),
     ("a string", "Input should be a valid dictionary"), (None, "Input should be a valid dictionary")],
)  # fmt: skip
def test_a_malformed_answer_is_the_pages_fault_named(value: object, problem: str) -> None:
    with pytest.raises(PageFailed) as failed:
        read_page(value)
    assert str(failed.value).startswith("the page's metadata is not what the script reads") and problem in str(failed.value)
