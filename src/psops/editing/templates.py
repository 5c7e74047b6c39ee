"""The example content a new file starts from (as ``sops edit NEW_FILE`` does), one per format.

The content is plain text in the file's format; the user replaces it in the editor and psops encrypts the
result with the keys of the matching creation rule (or the key flags). Leaving it unchanged creates nothing.
"""

from __future__ import annotations

from psops.errors import PsopsError

_GREETING = "Welcome to psops! Edit this file as you please!"

TEMPLATES: dict[str, str] = {
    "yaml": (
        f"hello: {_GREETING}\n"
        "example_key: example_value\n"
        "# Example comment\n"
        "example_array:\n"
        "    - example_value1\n"
        "    - example_value2\n"
        "example_number: 1234.56789\n"
        "example_booleans:\n"
        "    - true\n"
        "    - false\n"
    ),
    "json": (
        "{\n"
        f'\t"hello": "{_GREETING}",\n'
        '\t"example_key": "example_value",\n'
        '\t"example_array": [\n'
        '\t\t"example_value1",\n'
        '\t\t"example_value2"\n'
        "\t],\n"
        '\t"example_number": 1234.56789,\n'
        '\t"example_booleans": [\n'
        "\t\ttrue,\n"
        "\t\tfalse\n"
        "\t]\n"
        "}\n"
    ),
    "dotenv": f"hello={_GREETING}\nexample_key=example_value\n",
    "ini": f"[Section]\nhello = {_GREETING}\nexample_key = example_value\n",
    "binary": f"{_GREETING}\n",
}


def template_for(fmt: str) -> bytes:
    """The example content of a new file in format ``fmt``."""
    try:
        return TEMPLATES[fmt].encode()
    except KeyError:
        raise PsopsError(f"no template for the {fmt} format") from None
