"""Which button the curator presses on a consent dialog or interstitial (the browser tests see it done)."""

from __future__ import annotations

import pytest

from vvtv.discovery.consent import Button, Overlay, _age_question, choose


def overlay(text: str, *labels: str, cover: float = 1.0, whole_frame: bool = False) -> Overlay:
    buttons = [Button(index=i, label=label) for i, label in enumerate(labels)]
    return Overlay(text=text, cover=cover, whole_frame=whole_frame, buttons=buttons)


COOKIES = "We and our partners use cookies to personalise ads and measure traffic."


@pytest.mark.parametrize(
    ("shown", "opened_more", "pressed", "note"),
    [
        (overlay(COOKIES, "Accept all", "Manage options", "Reject all"), False, "Reject all",
         "dismissed a consent dialog with 'Reject all'"),
        (overlay(COOKIES, "Allow all cookies", "Use necessary cookies only", cover=0.1), False,
         "Use necessary cookies only", "dismissed a consent dialog with 'Use necessary cookies only'"),
        (overlay(COOKIES, "OK", "Close"), False, "Close", "closed a consent dialog with 'Close'"),
        (overlay(COOKIES, "Accept", "Cookie settings"), False, "Cookie settings",
         "opened a consent dialog's 'Cookie settings' to find a refusal"),
        (overlay(COOKIES, "Accept", "Cookie settings"), True, "Accept",
         "accepted a consent dialog with 'Accept': it offered no refusal"),
        (overlay("Your privacy choices", "Confirm my choices", "Accept all"), True, "Confirm my choices",
         "dismissed a consent dialog with 'Confirm my choices'"),
        (overlay("Sponsored. The video starts after this message.", "Skip", "Learn more"), False, "Skip",
         "dismissed an interstitial with 'Skip'"),
        (overlay("Join our newsletter!", "Subscribe", "No thanks"), False, "No thanks",
         "dismissed an interstitial with 'No thanks'"),
    ],
)  # fmt: skip
def test_the_choice_that_shares_least(shown: Overlay, opened_more: bool, pressed: str, note: str) -> None:
    button, said = choose(shown, opened_more=opened_more)
    assert (button.label, said) == (pressed, note)


@pytest.mark.parametrize(
    "shown",
    [
        overlay("Videos Music Upload", "Search", "Sign in", cover=0.08),  # a sticky header
        overlay("Watch on Openreel Share", "Watch on Openreel", "Continue", whole_frame=True),  # an embedded player
        overlay(COOKIES, "Manage options"),  # only more choices, already opened once: left as it is
    ],
)
def test_what_is_not_in_the_way_is_left_alone(shown: Overlay) -> None:
    assert choose(shown, opened_more=True) is None


def test_age_questions_are_recognised_and_quoted() -> None:
    text = "Mature content. This film is intended for adults. Are you 18 years of age or older? Yes No"
    assert _age_question(text) == "Are you 18 years of age or older?"
    assert _age_question("Please enter your date of birth to continue.") == "Please enter your date of birth to continue."
    assert _age_question("Filmed in 1998 by 21 musicians over 18 days.") is None
    assert _age_question("We use cookies. Accept all") is None
