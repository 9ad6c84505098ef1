"""Translation completeness: every message the project's templates and Python code mark for
translation has a Simplified Chinese translation that Django actually serves.

How: Django's own ``makemessages`` extracts every msgid from a temporary copy of ``src/huoban``
(so the tree is never touched), then each msgid is looked up the way a page does — through the
compiled catalogs with ``zh-hans`` active (the app's ``locale/``, the project's
``src/huoban/locale/`` and Django's own). A msgid counts as untranslated when the lookup returns
it unchanged, unless a ``.po`` file deliberately translates it to the same text (``URL`` → ``URL``).
This also catches fuzzy entries and ``.po`` files whose ``.mo`` was not recompiled.

The failure message names, per app, the file and line of every untranslated message and the
``.po`` file to fix (``cd src/huoban/<app> && django-admin makemessages -l zh_Hans``; translate;
``django-admin compilemessages``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from django.utils import translation

SRC = Path(__file__).resolve().parents[2] / "src" / "huoban"
LETTERS = re.compile(r"[A-Za-z]{2,}")


def _unquote(s: str) -> str:
    s = s.strip()
    if s.startswith('"') and s.endswith('"'):
        s = s[1:-1]
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def parse_po(text: str) -> list[dict]:
    """A small .po parser: msgctxt, msgid, msgid_plural, msgstr[n], flags, locations."""
    entries: list[dict] = []
    cur: dict = {"locations": [], "flags": set(), "msgstr": {}}
    field = None

    def flush() -> None:
        nonlocal cur
        if "msgid" in cur:
            entries.append(cur)
        cur = {"locations": [], "flags": set(), "msgstr": {}}

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            field = None
            continue
        if line.startswith("#:"):
            cur["locations"].extend(line[2:].split())
        elif line.startswith("#,"):
            cur["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            cur["msgctxt"] = _unquote(line[8:])
            field = "msgctxt"
        elif line.startswith("msgid_plural "):
            cur["msgid_plural"] = _unquote(line[13:])
            field = "msgid_plural"
        elif line.startswith("msgid "):
            if "msgid" in cur:
                flush()
            cur["msgid"] = _unquote(line[6:])
            field = "msgid"
        elif line.startswith("msgstr["):
            idx = int(line[7 : line.index("]")])
            cur["msgstr"][idx] = _unquote(line[line.index("]") + 1 :])
            field = ("msgstr", idx)
        elif line.startswith("msgstr "):
            cur["msgstr"][0] = _unquote(line[7:])
            field = ("msgstr", 0)
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                cur["msgstr"][field[1]] += _unquote(line)
            else:
                cur[field] += _unquote(line)
    flush()
    return [e for e in entries if e["msgid"] or e.get("msgctxt")]


def _copy_sources(dest: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {"migrations", "static", "locale", "__pycache__", "data", "tests"}
        return {n for n in names if n in skip or n.endswith((".pyc", ".mo", ".po", ".csv", ".json"))}

    shutil.copytree(SRC, dest / "huoban", ignore=ignore)


def extract_msgids(tmp: Path) -> list[dict]:
    """Every msgid of src/huoban (Python, templates) via Django's makemessages on a copy."""
    copy = tmp / "src"
    _copy_sources(copy)
    (copy / "huoban" / "locale").mkdir()
    (tmp / "cfg").mkdir()
    (tmp / "cfg" / "i18n_check_settings.py").write_text(
        "from huoban.settings import *  # noqa\nLOCALE_PATHS = []\n"
    )
    env = dict(os.environ)
    # the real package is imported (settings, apps); only the copy is scanned for messages
    paths = [str(tmp / "cfg"), str(SRC.parent), *env.get("PYTHONPATH", "").split(os.pathsep)]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)  # an empty entry would mean the cwd
    env["DJANGO_SETTINGS_MODULE"] = "i18n_check_settings"
    env["HUOBAN_VAR_DIR"] = str(tmp / "var")
    env["HUOBAN_SECRET_KEY"] = "i18n-check"
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-P",  # do not put the cwd on sys.path: the copy's ``platform`` package would shadow the stdlib
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "-e",
            "html,txt,py",
            "--no-wrap",
            "--no-obsolete",
        ],
        cwd=copy / "huoban",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    po = copy / "huoban" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert result.returncode == 0 and po.exists(), f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    return parse_po(po.read_text(encoding="utf-8"))


def committed_translations() -> dict[tuple[str, str], str]:
    """(msgctxt, msgid) -> msgstr from every committed zh_Hans .po of the project (non-fuzzy)."""
    out: dict[tuple[str, str], str] = {}
    for po in SRC.rglob("locale/zh_Hans/LC_MESSAGES/django.po"):
        for e in parse_po(po.read_text(encoding="utf-8")):
            if "fuzzy" in e["flags"]:
                continue
            msgstr = e["msgstr"].get(0, "")
            if msgstr:
                out[(e.get("msgctxt", ""), e["msgid"])] = msgstr
    return out


# Files whose messages live in the project-level catalog (src/huoban/locale): the settings area
# and the global search, which sit inside platform/ui but have their own maintainer.
PROJECT_CATALOG = (
    "platform/ui/settings_",
    "platform/ui/search.py",
    "platform/ui/urls_settings.py",
    "platform/ui/screenshots.py",
    "platform/ui/templates/ui/settings/",
    "platform/ui/templates/ui/search",
    "platform/ui/management/commands/search-reindex.py",
    "settings.py",
)


def app_of(location: str) -> str:
    """The app a source location belongs to, e.g. "platform/ui" or "customers"."""
    path = location.split(":")[0]
    if path.startswith(PROJECT_CATALOG):
        return "(project)"
    parts = path.split("/")
    if parts[0] == "platform":  # platform/<app>/…; platform/errors.py etc. belong to the project
        return "/".join(parts[:2]) if len(parts) > 2 else "(project)"
    return parts[0] if len(parts) > 1 else "(project)"


def _served(entry: dict) -> str:
    msgid, ctx = entry["msgid"], entry.get("msgctxt")
    if entry.get("msgid_plural"):
        if ctx:
            return translation.npgettext(ctx, msgid, entry["msgid_plural"], 1)
        return translation.ngettext(msgid, entry["msgid_plural"], 1)
    return translation.pgettext(ctx, msgid) if ctx else translation.gettext(msgid)


def untranslated(entries: list[dict]) -> dict[str, list[str]]:
    committed = committed_translations()
    missing: dict[str, list[str]] = defaultdict(list)
    with translation.override("zh-hans"):
        for e in entries:
            if not LETTERS.search(e["msgid"]):  # nothing to translate ("%(n)s", "—", "伙伴")
                continue
            if _served(e) != e["msgid"]:
                continue
            if committed.get((e.get("msgctxt", ""), e["msgid"])) == e["msgid"]:
                continue  # deliberately the same in Chinese
            where = e["locations"][0] if e["locations"] else "?"
            missing[app_of(where)].append(f"{where}  {e['msgid'][:80]!r}")
    return missing


def po_path_for(app: str) -> str:
    if app == "(project)":
        return "src/huoban/locale/zh_Hans/LC_MESSAGES/django.po"
    return f"src/huoban/{app}/locale/zh_Hans/LC_MESSAGES/django.po"


def test_po_parser_reads_plurals_contexts_and_flags():
    text = (
        '#: a/b.py:1\n#, fuzzy\nmsgid "One"\nmsgstr "一"\n\n'
        '#: t.html:2\nmsgctxt "verb"\nmsgid "Open"\nmsgstr ""\n"打开"\n\n'
        'msgid "%(n)s item"\nmsgid_plural "%(n)s items"\nmsgstr[0] "%(n)s 项"\n'
    )
    entries = parse_po(text)
    assert [e["msgid"] for e in entries] == ["One", "Open", "%(n)s item"]
    assert "fuzzy" in entries[0]["flags"] and entries[1]["msgctxt"] == "verb"
    assert entries[1]["msgstr"][0] == "打开" and entries[2]["msgid_plural"] == "%(n)s items"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_every_message_has_a_chinese_translation(tmp_path):
    entries = extract_msgids(tmp_path)
    assert len(entries) > 50, "extraction found suspiciously few messages"
    missing = untranslated(entries)
    if missing:
        lines = []
        total = sum(len(v) for v in missing.values())
        for app in sorted(missing):
            lines.append(f"\n{app}: {len(missing[app])} untranslated — fix {po_path_for(app)}")
            lines.extend(f"    {m}" for m in missing[app][:40])
            if len(missing[app]) > 40:
                lines.append(f"    … and {len(missing[app]) - 40} more")
        pytest.fail(f"{total} messages have no zh-Hans translation:" + "\n".join(lines), pytrace=False)
