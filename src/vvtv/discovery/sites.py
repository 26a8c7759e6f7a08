"""Sites: the generic profile that works on sites it has never seen, and optional YAML profiles.

The generic profile does what a person does on an unknown site: find the
search box (a search field, a field named or labelled for searching, or the
only text field of a form), type the query, submit, read the result links
(links in the page's content, not its header, navigation, footer or pager),
and follow the "next" link. A YAML profile gives CSS selectors for the steps
where the guesses go wrong:

    name: example
    start_url: https://videos.example.org/
    search_input: "#q"          # optional, each of these
    search_submit: "form.search button"
    result_links: ".results a.title"
    next_page: "a.pager-next"
    play_control: ".player .big-play"   # on a video page

A profile's selectors also find elements inside open shadow roots (sites built of web
components). Profiles for open-licence sources ship in `profiles/` (Internet Archive,
Wikimedia Commons, PeerTube) and are known by name without any setting; a profile of
the same name in `discovery.site_profiles_dir` takes their place. docs/site-profiles.md
says how to write one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vvtv.discovery.browser import BrowserPage
from vvtv.discovery.human import Human
from vvtv.errors import ConfigError

# Every element matching a profile's selector, also inside open shadow roots; pasted into the
# scripts below where they say DEEP_ALL.
DEEP_ALL = r"""
const deepAll = (selector) => {
  const found = [];
  const walk = (root) => {
    found.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return found;
};
"""

FIND_SEARCH_SCRIPT = r"""
([inputSelector, submitSelector]) => {
  DEEP_ALL
  for (const attr of ['data-vvtv-search', 'data-vvtv-submit']) {
    document.querySelectorAll(`[${attr}]`).forEach((e) => e.removeAttribute(attr));
  }
  const visible = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const textual = 'input:not([type]), input[type=text], input[type=search]';
  const all = (selector) => [...document.querySelectorAll(selector)].filter(visible);
  const own = (selector) => deepAll(selector).filter(visible);
  const named = (el) => [el.name, el.id, el.placeholder, el.getAttribute('aria-label'), el.title].join(' ');
  const guesses = [
    ['the site profile', () => (inputSelector ? own(inputSelector)[0] : null)],
    ['a search field', () => all('input[type=search], [role=searchbox]')[0]],
    ['a field in a search form', () => all('[role=search] input, form[action*=search i] input').filter((e) => e.matches(textual))[0]],
    ['a field named for searching', () => all(textual).find((e) => /search|query|find|keyword|look ?up/i.test(named(e)) || ['q', 's'].includes(e.name))],
    ['the only text field of a form', () => [...document.forms].map((f) => [...f.querySelectorAll(textual)].filter(visible)).find((l) => l.length === 1)?.[0]],
  ];
  for (const [how, guess] of guesses) {
    const box = guess();
    if (!box) continue;
    box.setAttribute('data-vvtv-search', '');
    const form = box.form;
    const submit = (submitSelector ? own(submitSelector)[0] : null) ||
      (form ? [...form.querySelectorAll('button[type=submit], input[type=submit], button:not([type])')].filter(visible)[0] : null);
    if (submit) submit.setAttribute('data-vvtv-submit', '');
    return { how, submit: !!submit };
  }
  return null;
}
"""

COLLECT_RESULTS_SCRIPT = r"""
(selector) => {
  DEEP_ALL
  const here = new URL(location.href);
  here.hash = '';
  const pager = (a) => {
    const text = a.textContent.trim();
    return /\b(next|prev)\b/i.test(a.rel) || /\b(next|prev|previous) page\b/i.test(a.getAttribute('aria-label') || '') ||
      !!a.closest('.pagination, .pager, [class*=paginat]') ||
      (text.length <= 24 && /^[«‹←\s]*(next|previous|prev|older|newer|more)\b|\b(next|previous|older|newer)[\s»›→]*$|^[\s«»‹›←→\d.|]+$/i.test(text));
  };
  const chrome = 'nav, header, footer, aside, form, [role=navigation], [role=banner], [role=contentinfo]';
  const anchors = selector ? deepAll(selector) : [...document.querySelectorAll('a[href]')];
  const seen = new Set();
  const links = [];
  for (const a of anchors) {
    const href = a.getAttribute('href');
    if (!href || href.startsWith('#') || /^(javascript|mailto|tel):/i.test(href)) continue;
    if (!selector && (a.closest(chrome) || pager(a))) continue;
    let url;
    try { url = new URL(href, location.href); } catch (e) { continue; }
    url.hash = '';
    const sameSite = url.origin === here.origin;
    if (!selector && sameSite && (url.pathname === '/' || url.pathname === here.pathname)) continue;
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    links.push(url.href);
  }
  return links;
}
"""

FIND_NEXT_SCRIPT = r"""
(selector) => {
  DEEP_ALL
  document.querySelectorAll('[data-vvtv-next]').forEach((e) => e.removeAttribute('data-vvtv-next'));
  const links = [...document.querySelectorAll('a[href]')];
  const link = (selector ? deepAll(selector)[0] : null) ||
    document.querySelector('a[rel~=next][href]') ||
    links.find((a) => /next/i.test(a.getAttribute('aria-label') || '')) ||
    links.find((a) => /^\s*(next|more|older)\b|^\s*[›»→]\s*$/i.test(a.textContent)) ||
    links.find((a) => /(^|[-_\s])next([-_\s]|$)/i.test(typeof a.className === 'string' ? a.className : ''));
  if (!link) return null;
  link.setAttribute('data-vvtv-next', '');
  return link.href;
}
"""


FIND_SEARCH_SCRIPT, COLLECT_RESULTS_SCRIPT, FIND_NEXT_SCRIPT = (
    script.replace("DEEP_ALL", DEEP_ALL.strip()) for script in (FIND_SEARCH_SCRIPT, COLLECT_RESULTS_SCRIPT, FIND_NEXT_SCRIPT)
)
BUILT_IN = resources.files("vvtv.discovery") / "profiles"


class SiteProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    start_url: str = Field(pattern=r"^https?://\S+$")
    search_input: str | None = None
    search_submit: str | None = None
    result_links: str | None = None
    next_page: str | None = None
    play_control: str | None = None  # on a video page: what starts its player


def load_profiles(directory: Path | None) -> dict[str, SiteProfile]:
    """Every *.yaml / *.yml profile in `directory`, by name; a bad file is a ConfigError naming it."""
    if directory is None:
        return {}
    if not directory.is_dir():
        raise ConfigError(f"discovery.site_profiles_dir: no folder at {directory}")
    profiles: dict[str, SiteProfile] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        profile = _read_profile(path.read_text(), where=str(path))
        profiles[profile.name] = profile
    return profiles


def _read_profile(text: str, *, where: str) -> SiteProfile:
    try:
        return SiteProfile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"site profile {where}: {exc}") from None


def built_in_profiles() -> dict[str, SiteProfile]:
    """The profiles shipped with VVTV (src/vvtv/discovery/profiles), by name."""
    found = [_read_profile(f.read_text(), where=f"(built in) {f.name}")
             for f in BUILT_IN.iterdir() if f.name.endswith((".yaml", ".yml"))]  # fmt: skip
    return {p.name: p for p in sorted(found, key=lambda p: p.name)}


def all_profiles(directory: Path | None) -> dict[str, SiteProfile]:
    """The built-in profiles and the operator's (which win on a shared name)."""
    return {**built_in_profiles(), **load_profiles(directory)}


def resolve_site(name_or_url: str, profiles: dict[str, SiteProfile]) -> SiteProfile:
    """A profile by name, or the generic profile for a URL."""
    if name_or_url in profiles:
        return profiles[name_or_url]
    if name_or_url.startswith(("http://", "https://")):
        return SiteProfile(name=name_or_url, start_url=name_or_url)
    raise ConfigError(f"site {name_or_url!r} is neither a URL nor one of the site profiles {sorted(profiles)}")


async def search(page: BrowserPage, human: Human, profile: SiteProfile, query: str) -> str | None:
    """Type the query into the site's search box and submit it; how the box was found, or None if none was."""
    found = await page.main.evaluate(FIND_SEARCH_SCRIPT, [profile.search_input, profile.search_submit])
    if not found:
        return None
    box = await page.main.box("[data-vvtv-search]")
    if box is None:
        return None
    await human.click(box)
    await human.type_text(query)
    await human.pause(0.3, 0.9)
    submit = await page.main.box("[data-vvtv-submit]") if found["submit"] else None
    # People split between pressing Enter and clicking the button.
    if submit is not None and human.rng.random() < 0.5:
        navigated = await page.navigation_by(lambda: human.click(submit))
    else:
        navigated = await page.navigation_by(lambda: human.press("Enter"))
    return found["how"] if navigated else None


async def result_links(page: BrowserPage, profile: SiteProfile) -> list[str]:
    links = await page.main.evaluate(COLLECT_RESULTS_SCRIPT, profile.result_links)
    if not links and profile.result_links:
        # The site changed under its profile: the generic guess is better than nothing.
        links = await page.main.evaluate(COLLECT_RESULTS_SCRIPT, None)
    return [link for link in links or [] if isinstance(link, str)]


async def find_next(page: BrowserPage, profile: SiteProfile) -> str | None:
    """The URL of the next results page, marked for a click, or None on the last page."""
    return await page.main.evaluate(FIND_NEXT_SCRIPT, profile.next_page)


async def follow_next(page: BrowserPage, human: Human) -> bool:
    """Scroll down to the marked next link as a reader would and click it; False if that opened nothing."""
    box = await page.main.box("[data-vvtv-next]")
    if box is None:
        return False
    _, height = page.viewport
    if box.y + box.height > height:
        await human.scroll(box.y - height / 2)
        box = await page.main.box("[data-vvtv-next]")
        if box is None:
            return False
    return await page.navigation_by(lambda: human.click(box))
