"""The prompt format the models are trained and queried with:
`### TABLEDATA\n\n{schema}\n\n### STATEMENT\n\n{statement}`."""

SCHEMA_HEADER = "### TABLEDATA"
STATEMENT_HEADER = "### STATEMENT"
STATEMENT_SEPARATOR = f"\n\n{STATEMENT_HEADER}\n\n"


def prompt_text(schema: str) -> str:
    """The text in front of a statement: the schema block and the statement marker."""
    return f"{SCHEMA_HEADER}\n\n{schema}{STATEMENT_SEPARATOR}"


def marker_piece(marker: str) -> str:
    """The vocabulary piece of a marker: SentencePiece sees spaces as U+2581 before matching
    symbols."""
    return marker.replace(" ", "\u2581")
