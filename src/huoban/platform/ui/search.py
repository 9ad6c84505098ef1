"""Global search over every business record a user may see.

The index
---------
``SearchEntry`` (``models_search.py``) holds, for every record of a type that declares
``search_fields``, a small set of *suffix tokens* of the normalised field values (NFKC, lower
case, whitespace collapsed), each cut to ``TOKEN_CHARS`` characters:

* a suffix starting at **every CJK character** — so any Chinese substring, of one character
  (张) or more (华为, 华为技术), is a *prefix* of some token;
* a suffix starting at **every word start** of Latin letters and digits (``li na`` →
  ``li na``, ``na``), so words are searched by prefix (``zha`` finds Zhang);
* for phone-like values the digits alone (``138-1234-5678`` → ``13812345678``), without a
  ``+86``/``86`` country code, and the last four digits (尾号).

A query term ``t`` then matches the tokens in the range ``t <= token < t + U+10FFFF`` — a B-tree
range scan on ``(object_type, token, owner_id, owner_unit_id, object_id)`` that works the same on
SQLite (binary collation) and PostgreSQL (the column is switched to ``COLLATE "C"`` by the
migration). Trigram indexes cannot find one- and two-character terms; this can, and it needs no
extension. Several terms are ANDed (an ``EXISTS`` on ``(object_type, object_id, token)``). A long
Chinese term that finds nothing is split into words with jieba and retried as an AND of words.

Permissions
-----------
The data-scope filter of ``platform.access.scoping.scope_filter`` is applied to the entries'
``owner_id``/``owner_unit_id`` (plus records shared with the user) so the index scan only returns
what the user may see; the records themselves are then loaded through ``scoped()`` — the one
door — so a stale entry can never leak a record.

Maintenance
-----------
Domain events ``<type>.<verb>`` re-index the records they name (``id``, ``ids``, a merge's
``absorbed``/``merged_into``, an undo's ``restored``) from what is stored now, so a deleted or
merged-away record leaves the index and the order in which events arrive does not matter. An
update whose ``changes`` touch no indexed field (nor the owner) costs nothing. Records are loaded
``CHUNK`` at a time with one query and their tokens inserted in bulk; a bulk event naming more
than ``CHUNK`` records (an import batch) is handed to the task queue, a chunk per task, so the
write that emitted it does not wait for the tokenising. ``huoban search-reindex`` rebuilds
everything (bulk loads, then builds the indexes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Q

from huoban.platform.access import registry
from huoban.platform.access.scoping import grants_for, scoped
from huoban.platform.identity.models import Action, Scope
from huoban.platform.records.contact_points import format_phone

from .models_search import SearchEntry

TOKEN_CHARS = 24
VALUE_CHARS = 120  # long values (notes) are indexed on their first 120 characters
MAX_TERMS = 5
CHUNK = 500  # records re-indexed per query; a bulk event naming more is queued, a chunk per task
TOP = 20
_HIGH = "\U0010ffff"
_WS = re.compile(r"\s+")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,}$")
_NON_DIGIT = re.compile(r"\D")


# --- tokens --------------------------------------------------------------------------------------


def normalise(text: Any) -> str:
    """NFKC (full-width → half-width), lower case, whitespace collapsed."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).lower()
    return _WS.sub(" ", s).strip()


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= o <= 0x4DBF  # extension A
        or 0x20000 <= o <= 0x2EBEF  # extensions B–F
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0x3040 <= o <= 0x30FF  # kana
        or 0xAC00 <= o <= 0xD7AF  # hangul
    )


def _word_char(ch: str) -> bool:
    return ch.isalnum() and not is_cjk(ch)


def text_tokens(text: Any) -> set[str]:
    """The suffix tokens of one value (see the module docstring)."""
    s = normalise(text)[: VALUE_CHARS + TOKEN_CHARS]
    if not s:
        return set()
    out: set[str] = set()
    prev = ""
    for i, ch in enumerate(s[:VALUE_CHARS]):
        if is_cjk(ch) or (_word_char(ch) and not _word_char(prev)):
            tok = s[i : i + TOKEN_CHARS].rstrip()
            if tok:
                out.add(tok)
        prev = ch
    if _PHONE.match(s):
        digits = _NON_DIGIT.sub("", s)
        if len(digits) >= 7:
            out.add(digits[:TOKEN_CHARS])
            if digits.startswith("86") and len(digits) == 13:
                out.add(digits[2:])
            out.add(digits[-4:])
    return out


def query_terms(q: str) -> list[str]:
    """Normalised query terms (AND), longest first; phone-like input loses its separators."""
    s = normalise(q)
    if not s:
        return []
    if _PHONE.match(s):
        digits = _NON_DIGIT.sub("", s)
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return [digits[:TOKEN_CHARS]] if digits else []
    terms: list[str] = []
    for part in s.split(" "):
        # tokens start at a word character or a CJK character: drop leading punctuation
        while part and not (_word_char(part[0]) or is_cjk(part[0])):
            part = part[1:]
        part = part[:TOKEN_CHARS].rstrip()
        if part and part not in terms:
            terms.append(part)
    terms.sort(key=len, reverse=True)
    return terms[:MAX_TERMS]


# --- what is indexed -----------------------------------------------------------------------------


def indexed_types() -> list[registry.ObjectType]:
    return [t for t in registry.all_types() if index_fields(t)]


def index_fields(ot: registry.ObjectType) -> list[str]:
    """The declared ``search_fields`` that are model fields (or ``fk__field`` paths), minus
    sensitive ones (encrypted at rest; never put in an index in clear)."""
    out = []
    for path in ot.search_fields:
        first = path.split("__", 1)[0]
        if first in ot.sensitive_fields:
            continue
        try:
            ot.model._meta.get_field(first)
        except Exception:
            continue
        out.append(path)
    return out


def _rows(ot: registry.ObjectType, ids: Iterable[int] | None = None, after: int = 0, batch: int = 0) -> list:
    fields = index_fields(ot)
    qs: Any = ot.model._default_manager.unrestricted().filter(deleted_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    elif after:
        qs = qs.filter(pk__gt=after)
    qs = qs.order_by("pk").values_list("pk", "owner_id", "owner_unit_id", *fields)
    return list(qs[:batch]) if batch else list(qs)


def _entries(key: str, rows: Iterable[tuple]) -> Iterator[tuple]:
    """(object_type, object_id, owner_id, owner_unit_id, token) for value rows."""
    by_pk: dict[int, tuple[Any, Any, set[str]]] = {}
    for row in rows:
        pk, owner, unit, *values = row
        current = by_pk.get(pk)
        tokens = current[2] if current else set()
        for v in values:
            tokens |= text_tokens(v)
        by_pk[pk] = (owner, unit, tokens)
    for pk, (owner, unit, tokens) in by_pk.items():
        for tok in tokens:
            yield (key, pk, owner, unit, tok)


_COLUMNS = ("object_type", "object_id", "owner_id", "owner_unit_id", "token")


def _insert(entries: Iterable[tuple], chunk: int = 5000) -> int:
    table = SearchEntry._meta.db_table
    n = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for e in entries:
                    copy.write_row(e)
                    n += 1
            return n
        sql = f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES (%s, %s, %s, %s, %s)"
        buf: list[tuple] = []
        for e in entries:
            buf.append(e)
            if len(buf) >= chunk:
                cursor.executemany(sql, buf)
                n += len(buf)
                buf = []
        if buf:
            cursor.executemany(sql, buf)
            n += len(buf)
    return n


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def index_records(ot: registry.ObjectType, ids: Iterable[int]) -> int:
    """(Re-)index some records of one type from what is stored now (one query per ``CHUNK``
    records, tokens inserted in bulk); deleted or missing ones leave the index."""
    ids = [int(i) for i in ids]
    if not ids or not index_fields(ot):
        return 0
    n = 0
    for part in _chunks(ids, CHUNK):
        with transaction.atomic():
            SearchEntry.objects.filter(object_type=ot.key, object_id__in=part).delete()
            n += _insert(_entries(ot.key, _rows(ot, part)))
    return n


def unindex_records(object_type: str, ids: Iterable[int]) -> None:
    ids = [int(i) for i in ids]
    for part in _chunks(ids, CHUNK):
        SearchEntry.objects.filter(object_type=object_type, object_id__in=part).delete()


def reindex(types: Iterable[str] | None = None, *, batch: int = 5000, progress: Any = None) -> dict[str, int]:
    """Rebuild the index for some or all types. A full rebuild drops the indexes while loading
    (much faster at a million rows) and builds them again at the end."""
    wanted = {t.key: t for t in indexed_types()}
    full = types is None
    if types is not None:
        wanted = {k: v for k, v in wanted.items() if k in set(types)}
    counts: dict[str, int] = {}
    indexes = list(SearchEntry._meta.indexes)
    with transaction.atomic():
        if full:
            SearchEntry.objects.all().delete()
            _drop_indexes(indexes)
        else:
            SearchEntry.objects.filter(object_type__in=list(wanted)).delete()
        try:
            for key, ot in wanted.items():
                after, n = 0, 0
                while True:
                    rows = _rows(ot, after=after, batch=batch)
                    if not rows:
                        break
                    after = rows[-1][0]
                    n += _insert(_entries(key, rows))
                    if progress:
                        progress(key, after, n)
                counts[key] = n
        finally:
            if full:
                _create_indexes(indexes)
    if connection.vendor == "postgresql":
        # VACUUM sets the visibility map, so searches are index-only scans (not possible inside
        # a transaction, e.g. in tests: ANALYZE alone there)
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{verb} {SearchEntry._meta.db_table}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


def _drop_indexes(indexes: list) -> None:
    with connection.cursor() as cursor:
        for index in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(index.name)}")


def _create_indexes(indexes: list) -> None:
    editor = connection.schema_editor()  # only to render the SQL (no DDL transaction needed)
    with connection.cursor() as cursor:
        for index in indexes:
            cursor.execute(str(index.create_sql(SearchEntry, editor)))


# --- events --------------------------------------------------------------------------------------

_DROP_VERBS = {"deleted", "purged", "erased", "merged_away"}
# payload keys that name records of the event's type: the record, a bulk event's records, a
# merge's survivor and absorbed records (soft-deleted: re-indexing drops them), an undo's restored
_ID_KEYS = ("id", "ids", "merged_into", "absorbed", "restored")


def event_ids(payload: dict[str, Any]) -> list[int]:
    out: list[int] = []
    for key in _ID_KEYS:
        value = payload.get(key)
        for i in value if isinstance(value, list | tuple | set) else [value]:
            if i is not None and str(i).isdigit():
                out.append(int(i))
    return list(dict.fromkeys(out))


def touches_index(ot: registry.ObjectType, changes: Any) -> bool:
    """Does an update that changed ``changes`` (field names; ``None``: unknown) alter the record's
    tokens or its owner columns?"""
    if changes is None:
        return True
    watched = {p.split("__", 1)[0] for p in index_fields(ot)} | {"owner", "owner_unit"}
    return any(str(c).split(".", 1)[0] in watched for c in changes)


def handle_event(event: Any) -> None:
    """Keep the index current: any ``<type>.<verb>`` event naming records re-indexes them (see
    "Maintenance" above); a bulk event is queued a chunk per task."""
    object_type, _sep, verb = event.name.rpartition(".")
    ot = registry.find(object_type)
    if ot is None or not index_fields(ot):
        return
    payload = event.payload or {}
    if not touches_index(ot, payload.get("changes")):
        return
    ids = event_ids(payload)
    if not ids:
        return
    if verb in _DROP_VERBS:
        unindex_records(ot.key, ids)
    elif len(ids) <= CHUNK:
        index_records(ot, ids)
    else:
        from . import tasks

        for part in _chunks(ids, CHUNK):
            tasks.search_index(ot.key, part)


# --- querying ------------------------------------------------------------------------------------


@dataclass
class EntryScope:
    """The data scope of one object type, to be applied to index entries: everything, or entries
    whose owner is the user, whose owner unit is one of ``units``, or whose record is shared."""

    everything: bool = False
    owner: int | None = None
    units: list[int] = field(default_factory=list)
    shared: list[int] = field(default_factory=list)

    def branches(self) -> list[tuple[str, list[Any]]]:
        """SQL conditions whose union is the scope. Each branch is its own ordered index range
        scan (owner / one owner unit / shared ids), so a scan stops after a page of matches even
        when the user may see few of the records that match the term."""
        if self.everything:
            return [("", [])]
        out: list[tuple[str, list[Any]]] = []
        if self.owner is not None:
            out.append((" AND e.owner_id = %s", [self.owner]))
        if len(self.units) <= 24:
            out += [(" AND e.owner_unit_id = %s", [u]) for u in self.units]
        else:
            out.append((f" AND e.owner_unit_id IN ({', '.join(['%s'] * len(self.units))})", list(self.units)))
        if self.shared:
            out.append((f" AND e.object_id IN ({', '.join(['%s'] * len(self.shared))})", list(self.shared)))
        return out


def entry_scopes(user: Any, types: list[registry.ObjectType]) -> list[tuple[registry.ObjectType, EntryScope]]:
    """``scope_filter`` (platform/access/scoping.py) mirrored onto index entries, for every type
    the user may view — with one query for the records shared with the user across all types."""
    from django.contrib.contenttypes.models import ContentType

    from huoban.platform.access.models import Share

    grants = grants_for(user)
    plans: list[tuple[registry.ObjectType, EntryScope]] = []
    need_shares: dict[int, registry.ObjectType] = {}
    for ot in types:
        if not grants.can(ot.key, Action.VIEW):
            continue
        scope = grants.scope(ot.key)
        if scope == Scope.ALL:
            plans.append((ot, EntryScope(everything=True)))
            continue
        es = EntryScope()
        if scope == Scope.UNIT_TREE:
            es.owner, es.units = user.pk, list(grants.tree_unit_ids)
        elif scope == Scope.UNIT:
            es.owner, es.units = user.pk, list(grants.unit_ids)
        elif scope == Scope.OWN:
            es.owner = user.pk
        plans.append((ot, es))
        need_shares[ContentType.objects.get_for_model(ot.model).pk] = ot
    if need_shares:
        target = Q(user_id=user.pk)
        if grants.unit_ids:
            target |= Q(unit_id__in=grants.unit_ids)
        by_type: dict[str, list[int]] = {}
        rows = Share.objects.filter(target, content_type_id__in=list(need_shares)).values_list(
            "content_type_id", "object_id"
        )
        for ct_id, oid in rows[:20000]:
            by_type.setdefault(need_shares[ct_id].key, []).append(oid)
        for ot, es in plans:
            es.shared = by_type.get(ot.key, [])[:5000]
    # a type whose scope leaves nothing (scope "none", nothing shared) is not searched
    return [(ot, es) for ot, es in plans if es.everything or es.owner is not None or es.units or es.shared]


def _select(
    branch: int,
    ot: registry.ObjectType,
    cond: str,
    cond_params: list[Any],
    terms: list[str],
    fetch: int,
    offset: int,
) -> tuple[str, list]:
    table = SearchEntry._meta.db_table
    sql = (
        f"SELECT {int(branch)} AS b, e.object_type, e.object_id, e.token FROM {table} e "
        f"WHERE e.object_type = %s AND e.token >= %s AND e.token < %s{cond}"
    )
    params: list[Any] = [ot.key, terms[0], terms[0] + _HIGH, *cond_params]
    for t in terms[1:]:
        sql += (
            f" AND EXISTS (SELECT 1 FROM {table} x WHERE x.object_type = e.object_type "
            "AND x.object_id = e.object_id AND x.token >= %s AND x.token < %s)"
        )
        params += [t, t + _HIGH]
    sql += " ORDER BY e.token LIMIT %s OFFSET %s"
    params += [fetch, offset]
    return sql, params


def candidates(
    plans: list[tuple[registry.ObjectType, EntryScope]], terms: list[str], limit: int
) -> dict[str, list[tuple[int, str]]]:
    """Up to ``limit`` distinct (object_id, best token) per type, best token first.

    One ``UNION ALL`` round trip for every (type, scope branch); a branch is read further only
    when it filled its page and might still hold a better match than the type's ``limit``-th."""
    best: dict[str, dict[int, str]] = {ot.key: {} for ot, _es in plans}
    branches = [(ot, cond, params) for ot, es in plans for cond, params in es.branches()]
    todo = list(range(len(branches)))
    fetch, offset = limit * 3, 0
    for _round in range(4):
        if not todo:
            break
        parts: list[str] = []
        params: list[Any] = []
        for b in todo:
            ot, cond, cond_params = branches[b]
            sql, p = _select(b, ot, cond, cond_params, terms, fetch, offset)
            parts.append(f"SELECT * FROM ({sql}) t{b}")
            params += p
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            rows = cursor.fetchall()
        count: dict[int, int] = {}
        last: dict[int, str] = {}
        for b, key, oid, tok in rows:
            count[b] = count.get(b, 0) + 1
            last[b] = max(last.get(b, tok), tok)
            seen = best[key]
            if oid not in seen or tok < seen[oid]:
                seen[oid] = tok
        # the limit-th best token of each type ("" = fewer than limit found: read on)
        cutoff = {key: (sorted(v.values())[limit - 1] if len(v) >= limit else "") for key, v in best.items()}

        todo = [
            b
            for b in todo
            if count.get(b, 0) == fetch
            and (cutoff[branches[b][0].key] == "" or last[b] < cutoff[branches[b][0].key])
        ]
        offset += fetch
        fetch *= 4
    return {k: sorted(v.items(), key=lambda kv: kv[1])[:limit] for k, v in best.items()}


@dataclass
class Hit:
    object_type: str
    obj: Model
    label: str
    subtitle: str
    url: str
    rank: tuple = ()


@dataclass
class Group:
    type: registry.ObjectType
    hits: list[Hit] = field(default_factory=list)
    more_url: str = ""
    has_more: bool = False

    @property
    def label(self) -> str:
        return str(self.type.label_plural or self.type.key)


PHONE_FIELDS = ("phone", "mobile")


def _subtitle(ot: registry.ObjectType, obj: Model, label: str) -> str:
    parts = []
    for path in index_fields(ot):
        v: Any = obj
        for seg in path.split("__"):
            v = getattr(v, seg, None)
            if v is None:
                break
        text = str(v) if v not in (None, "") else ""
        if text and path.rsplit("__", 1)[-1] in PHONE_FIELDS:
            text = format_phone(text)  # +8613812345678 → 138 1234 5678, as everywhere else
        if text and text not in label and text not in parts:
            parts.append(text)
        if len(parts) >= 2:
            break
    return " · ".join(parts)


def _jieba_terms(term: str) -> list[str]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)

    words = [w.strip() for w in jieba.cut(term) if w.strip()]
    words = [w for w in words if len(w) > 1 or not is_cjk(w)] or words
    return sorted(dict.fromkeys(words), key=len, reverse=True)[:MAX_TERMS]


def search(user: Any, q: str, *, limit: int = TOP, types: Iterable[str] | None = None) -> list[Group]:
    """Top ``limit`` records matching ``q`` across every type ``user`` may see, grouped by type."""
    terms = query_terms(q)
    if not terms or user is None or not getattr(user, "is_authenticated", False):
        return []
    wanted = set(types) if types is not None else None
    plans = entry_scopes(user, [t for t in indexed_types() if wanted is None or t.key in wanted])
    if not plans:
        return []
    found = candidates(plans, terms, limit + 1)
    if not any(found.values()) and len(terms) == 1 and len(terms[0]) >= 4 and is_cjk(terms[0][0]):
        words = _jieba_terms(terms[0])
        if len(words) > 1:
            terms = words
            found = candidates(plans, terms, limit + 1)
    hits: list[Hit] = []
    groups: dict[str, Group] = {}
    for type_order, (ot, _es) in enumerate(plans):
        hits_of_type = found[ot.key]
        if not hits_of_type:
            continue
        best = dict(hits_of_type[:limit])
        records = scoped(user, ot.model).filter(pk__in=list(best))
        _group_for(groups, ot, q, has_more=len(hits_of_type) > limit)
        for obj in records:
            label = str(obj)
            tok = best[obj.pk]
            hits.append(
                Hit(
                    object_type=ot.key,
                    obj=obj,
                    label=label,
                    subtitle=_subtitle(ot, obj, label),
                    url=f"/{ot.resource}/{obj.pk}/",
                    rank=(0 if tok == terms[0] else 1, tok, type_order, -obj.pk),
                )
            )
    hits.sort(key=lambda h: h.rank)
    for h in hits[:limit]:
        groups[h.object_type].hits.append(h)
    if len(hits) > limit:
        for h in hits[limit:]:
            groups[h.object_type].has_more = True
    return [g for g in groups.values() if g.hits]


def _group_for(groups: dict[str, Group], ot: registry.ObjectType, q: str, has_more: bool) -> Group:
    from urllib.parse import urlencode

    g = groups.get(ot.key)
    if g is None:
        g = groups[ot.key] = Group(type=ot, more_url=f"/{ot.resource}/?{urlencode({'q': q})}")
    g.has_more = g.has_more or has_more
    return g


# --- the page ------------------------------------------------------------------------------------


def search_page(request: Any) -> Any:
    """``/search/?q=``: grouped results; ``?partial=1`` (or an HTMX request) renders only the
    result list, for the top bar's drop-down."""
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import render

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    q = (request.GET.get("q") or "").strip()[:200]
    groups = search(request.user, q) if q else []
    partial = request.GET.get("partial") == "1" or (
        getattr(request, "htmx", False) and not getattr(request.htmx, "boosted", False)
    )
    ctx = {"q": q, "groups": groups, "total": sum(len(g.hits) for g in groups)}
    return render(request, "ui/search_results.html" if partial else "ui/search.html", ctx)
