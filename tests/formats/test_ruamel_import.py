"""The YAML store loads ruamel.yaml's parser pieces without its package ``__init__``, and nobody notices.

Runs in a fresh interpreter, since the test process has imported ruamel.yaml completely long before.
"""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = r"""
import sys
from psops.formats.yaml_store import YamlStore

doc = YamlStore().load(b"# head\na: 1\nb: [x, y]\n")
assert doc[0].get("a") == 1, doc
assert "ruamel.yaml.main" not in sys.modules, "ruamel.yaml's round-trip API was imported"

import ruamel.yaml

assert "ruamel.yaml.main" not in sys.modules
from ruamel.yaml import YAML  # completes the package

assert YAML(typ="safe", pure=True).load("k: [1, 2]") == {"k": [1, 2]}
assert isinstance(ruamel.yaml.__version__, str) and ruamel.yaml.YAML is YAML
assert YamlStore().load(b"c: 3\n")[0].get("c") == 3
try:
    ruamel.yaml.no_such_name
except AttributeError:
    pass
else:
    raise AssertionError("a missing attribute must stay missing")
print("ok")
"""


def _run_fresh(script: str) -> str:
    """Run ``script`` in a fresh interpreter; its standard output (it must succeed)."""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_deferred_ruamel_package_behaves_like_the_real_one() -> None:
    assert _run_fresh(_SCRIPT) == "ok"


def test_an_already_imported_ruamel_is_left_alone() -> None:
    script = ("import ruamel.yaml, sys; real = sys.modules['ruamel.yaml']; "
              "from psops.formats.yaml_store import YamlStore; "
              "assert sys.modules['ruamel.yaml'] is real; print(YamlStore().load(b'a: 1')[0].get('a'))")
    assert _run_fresh(script) == "1"


_LIBYAML_SCRIPT = r"""
import sys
from psops.formats.ruamel_import import import_c_parser

parser_class = import_c_parser()
from ruamel.yaml.error import MarkedYAMLError  # (imported before, it would load all of ruamel.yaml)

unused = ("reader", "scanner", "parser", "composer", "constructor", "emitter", "serializer", "representer")
assert not [m for m in unused if "ruamel.yaml." + m in sys.modules], "stand-ins must not stay in sys.modules"
try:
    parser = parser_class("a: [1\nb: 2\n")
    while parser.get_event() is not None:
        pass
except MarkedYAMLError as exc:  # what the YAML store catches: a libyaml failure sends it to the Python parser
    assert exc.problem_mark is not None and "flow sequence" in str(exc), str(exc)
else:
    raise AssertionError("libyaml accepted an unclosed flow sequence")

import ruamel.yaml.parser  # the real modules still import, complete
from ruamel.yaml import YAML

assert hasattr(ruamel.yaml.parser, "Parser") and hasattr(ruamel.yaml.parser.ParserError, "__init__")
assert YAML(typ="safe", pure=True).load("k: [1, 2]") == {"k": [1, 2]}
assert import_c_parser() is parser_class
print("ok")
"""


def test_libyaml_loads_without_the_modules_it_never_uses() -> None:
    assert _run_fresh(_LIBYAML_SCRIPT) == "ok"


_TOKENS_SCRIPT = r"""
import sys
from psops.formats.ruamel_import import import_event_and_token_modules

events, tokens = import_event_and_token_modules()
assert "ruamel.yaml.compat" not in sys.modules, "the stand-in for ruamel.yaml.compat must not stay"
assert "collections" not in sys.modules, "ruamel.yaml.compat (and collections) should not load for the tokens"
assert tokens.ScalarToken.__module__ == "ruamel.yaml.tokens" and events.ScalarEvent.__module__ == "ruamel.yaml.events"

import ruamel.yaml.compat  # the real module still imports, complete
from ruamel.yaml import YAML

assert hasattr(ruamel.yaml.compat, "ordereddict") and callable(ruamel.yaml.compat.nprintf)
assert YAML(typ="safe", pure=True).load("k: [1, 2]") == {"k": [1, 2]}
assert import_event_and_token_modules() == (events, tokens)
print("ok")
"""


def test_ruamel_tokens_load_without_the_compat_module() -> None:
    assert _run_fresh(_TOKENS_SCRIPT) == "ok"
