"""The languages of TyDi QA GoldP, and how TyDi names them."""

TYDI_LANGS: tuple[str, ...] = ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")

# TyDi QA ids start with the language's English name: "swahili-1234...".
TYDI_ID_PREFIX: dict[str, str] = {
    "ar": "arabic",
    "bn": "bengali",
    "en": "english",
    "fi": "finnish",
    "id": "indonesian",
    "ko": "korean",
    "ru": "russian",
    "sw": "swahili",
    "te": "telugu",
}
PREFIX_TO_LANG: dict[str, str] = {v: k for k, v in TYDI_ID_PREFIX.items()}


def lang_from_tydi_id(example_id: str) -> str | None:
    """Language code of a TyDi QA id (`swahili-...` -> `sw`), or None if it has no known prefix."""
    prefix = example_id.split("-", 1)[0].lower()
    return PREFIX_TO_LANG.get(prefix)
