"""Consent dialogs and interstitials: out of the way the way a careful person would, or the page is left.

A cookie or consent dialog is answered with the choice that shares least: reject,
or "necessary only", or its close button; failing those its "manage options" is
opened to find a refusal on the next layer, and only a dialog that offers no way
to refuse is accepted (the page's browser context, cookies and all, is thrown
away after the visit). A "click to continue" overlay is continued. An age
confirmation is never clicked through on someone else's site: the page is given
up with that reason (AgeGate).

The script below finds and classifies the overlays of one frame; the choices are
made in Python so that they read as the rules above.
"""

from __future__ import annotations

import asyncio
import re

from pydantic import BaseModel, ValidationError

from vvtv.discovery.browser import BrowserPage, PageFailed
from vvtv.discovery.human import Human

# Overlays of this frame (dialogs, boxes fixed over the page, or the whole frame when it is a
# consent frame), each with its text and its buttons' labels; the buttons get an index to click by.
FIND_OVERLAYS_SCRIPT = r"""
() => {
  document.querySelectorAll('[data-vvtv-dismiss]').forEach((e) => e.removeAttribute('data-vvtv-dismiss'));
  const area = innerWidth * innerHeight;
  const shown = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 4 && r.height > 4 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0.05;
  };
  const words = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim();
  const overlays = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (overlays.some((o) => o.contains(el))) continue;
    const s = getComputedStyle(el);
    const dialog = el.matches('dialog[open], [role=dialog], [role=alertdialog], [aria-modal=true]');
    if (!dialog && s.position !== 'fixed' && s.position !== 'sticky') continue;
    if (shown(el)) overlays.push(el);
  }
  const whole = window !== window.top && document.body && !overlays.length;
  if (whole) overlays.push(document.body);
  let next = 0;
  return overlays.slice(0, 12).map((el) => {
    const r = el.getBoundingClientRect();
    const buttons = [...el.querySelectorAll('button, [role=button], a[href], input[type=button], input[type=submit]')]
      .filter(shown).slice(0, 30).map((b) => {
        b.setAttribute('data-vvtv-dismiss', String(next));
        const label = (b.getAttribute('aria-label') || words(b) || b.value || b.title || '').trim();
        return { index: next++, label: label.slice(0, 80) };
      });
    return { text: words(el).slice(0, 3000), cover: (r.width * r.height) / area, whole_frame: !!whole, buttons };
  });
}
"""

AGE = (
    r"\b(are you|you are|you must be|confirm (that )?you are|i am)\b[^.?!]{0,40}\b(1[89]|2[01])\b"
    r"|\bage (verification|confirmation|check|gate|restricted)|\b(verify|confirm) your age\b"
    r"|\b(date of birth|birth ?date)\b|\badults? only\b"
)
CONSENT = r"cookie|consent|privacy|personal data|gdpr|\bpartners\b|tracking"
REFUSE = (
    r"\b(reject|decline|refuse|deny|disagree|object)\b|\b(only|strictly) (necessary|essential|required)\b"
    r"|\b(necessary|essential|required)( cookies)? only\b|continue without|\bdo not (accept|agree|consent)"
    r"|\bdon'?t (accept|agree|allow)|\bno,? thanks|\b(save|confirm) (my )?(choices|preferences|selection)\b"
)
CLOSE = r"^(×|✕|✖|x|close|dismiss|close (dialog|banner|this))$"
MORE = r"manage|settings|options|customi[sz]e|preferences|more info|learn more|details|purposes"
ACCEPT = r"accept|agree|allow|\bok\b|okay|got it|i understand|continue|consent"
CONTINUE = r"continue|proceed|skip|dismiss|got it|^ok$|^enter"
ROUNDS = 4  # a dialog may have a second layer; a dialog that will not close is left after this many tries


class AgeGate(PageFailed):
    """The page asks the visitor to confirm their age: the curator never answers for itself."""


class Button(BaseModel):
    index: int
    label: str


class Overlay(BaseModel):
    text: str
    cover: float  # the share of the viewport it covers
    whole_frame: bool  # an iframe's whole page (a consent frame, or just an embedded player)
    buttons: list[Button]


def _find(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


def choose(overlay: Overlay, *, opened_more: bool) -> tuple[Button, str] | None:
    """Which button a careful person presses on this overlay, and what to note; None: it is none of ours."""
    labelled = [b for b in overlay.buttons if b.label]
    pick = lambda pattern: next((b for b in labelled if _find(pattern, b.label)), None)  # noqa: E731
    if _find(CONSENT, overlay.text):
        if refuse := pick(REFUSE):
            return refuse, f"dismissed a consent dialog with {refuse.label!r}"
        if close := pick(CLOSE):
            return close, f"closed a consent dialog with {close.label!r}"
        more = pick(MORE)
        if more and not opened_more:
            return more, f"opened a consent dialog's {more.label!r} to find a refusal"
        accept = next((b for b in labelled if _find(ACCEPT, b.label) and not _find(MORE, b.label)), None)
        if accept and _find(r"cookie|consent|personal data|partners", overlay.text):
            return accept, f"accepted a consent dialog with {accept.label!r}: it offered no refusal"
        return None
    if overlay.whole_frame or overlay.cover < 0.5:
        return None  # an embedded player's own page, a sticky header or a chat button: not in the way
    if go_on := pick(CLOSE) or pick(r"\bno,? thanks") or pick(CONTINUE):
        return go_on, f"dismissed an interstitial with {go_on.label!r}"
    return None


def _age_question(text: str) -> str | None:
    match = re.search(AGE, text, re.IGNORECASE)
    if not match:
        return None
    # The sentence that asks, for the operator.
    start = max(text.rfind(".", 0, match.start()), text.rfind("?", 0, match.start()), text.rfind("!", 0, match.start()))
    end = min([i for i in (text.find(c, match.end()) for c in ".?!") if i >= 0] or [len(text)])
    return text[start + 1 : end + 1].strip()[:160]


async def clear_the_way(page: BrowserPage, human: Human) -> list[str]:
    """Answer consent dialogs and interstitials in every frame; what was done, for the record.

    Raises AgeGate when an overlay asks the visitor's age.
    """
    notes: list[str] = []
    opened_more = False
    for _ in range(ROUNDS):
        acted = False
        for frame in page.frames():
            try:
                overlays = [Overlay.model_validate(o) for o in await frame.evaluate(FIND_OVERLAYS_SCRIPT) or []]
            except (PageFailed, ValidationError):
                continue  # a frame that went away or answers nonsense has no dialog we can answer
            for overlay in overlays:
                question = _age_question(overlay.text)
                if question:
                    raise AgeGate(f"an age confirmation is asked ({question!r}); the curator never confirms an "
                                  "age on someone else's site, so the page is skipped")  # fmt: skip
            for overlay in overlays:
                choice = choose(overlay, opened_more=opened_more)
                if choice is None:
                    continue
                button, note = choice
                box = await frame.box(f'[data-vvtv-dismiss="{button.index}"]')
                if box is None:
                    continue
                await human.click(box)
                notes.append(note)
                opened_more = opened_more or "to find a refusal" in note
                acted = True
                break
            if acted:
                break
        if not acted:
            return notes
        await asyncio.sleep(0.3)  # the dialog closes, or its next layer opens
    return notes
