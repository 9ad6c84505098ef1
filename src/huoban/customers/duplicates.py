"""Duplicate detection: before a write (create, edit, import) and as a full scan.

Before a write, ``customer_duplicate_candidates`` looks up customers sharing the USCC, a phone or
e-mail (``CustomerIdentifier``), the normalised name or a blocking key, and scores them
(``matching.pair_score``). ``find_duplicates_bulk`` does the same for a batch of import rows.

The full scan (``duplicate_scan``, a background job and a periodic task) streams every customer
once, keeps only compact per-row data (ids and hashes in ``array``s, brand and industry
strings), groups rows by blocking key — brand head, brand tail, USCC, phone, e-mail — and
compares rows only inside a block (all pairs in small blocks; a sorted window in large ones).
Accepted pairs are joined into groups (union–find) that are stored as ``DuplicateGroup`` rows;
pairs someone marked "different" (``DuplicateDismissal``) are never reported again.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from huoban.platform.access.scoping import service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.identity.actors import Actor, actor_user

from .matching import (
    CJK,
    DUPLICATE_THRESHOLD,
    Evidence,
    NameKey,
    block_keys,
    industry_sim,
    name_key,
    pair_score,
    person_key,
    resplit,
    similarity_parts,
)
from .models import (
    Contact,
    Customer,
    CustomerIdentifier,
    DuplicateDismissal,
    DuplicateGroup,
    DuplicateMember,
)

# Before a write, a shared USCC, phone or e-mail is always shown (whatever the name says); the
# full scan reports only pairs scoring at least the threshold (a shared switchboard number alone
# does not make two companies one).
EXACT_REASONS = frozenset({"uscc", "phone", "email"})
# Name blocks: brands less alike than this (edit-distance similarity) cannot reach the threshold
# on the name alone (0.7 × brand + 0.3 × industry ≥ 0.85 needs brand ≥ 0.79); a brand that extends
# another (a misspelt industry word glued to it) is compared too.
BRAND_CUTOFF = 0.74

REASON_ORDER = ["uscc", "phone", "email", "name", "similar_name", "same_customer"]


def _reasons_sorted(reasons: Iterable[str]) -> list[str]:
    s = set(reasons)
    return [r for r in REASON_ORDER if r in s] + sorted(s - set(REASON_ORDER))


def _phones_base(phones: Iterable[str]) -> frozenset[str]:
    return frozenset(p.split(";")[0] for p in phones if p)


def _emails_lower(emails: Iterable[str]) -> frozenset[str]:
    return frozenset(e.lower() for e in emails if e)


def dismissed_with(object_type: str, ids: Sequence[int]) -> set[tuple[int, int]]:
    if not ids:
        return set()
    rows = DuplicateDismissal.objects.filter(
        Q(low_id__in=ids) | Q(high_id__in=ids), object_type=object_type
    ).values_list("low_id", "high_id")
    return set(rows)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# --- before a write --------------------------------------------------------------------------


def customer_duplicate_candidates(
    *,
    name: str,
    uscc: str = "",
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    exclude_ids: Sequence[int] = (),
    threshold: float = DUPLICATE_THRESHOLD,
    limit: int = 10,
    max_candidates: int = 2000,
) -> list[dict[str, Any]]:
    """Likely duplicates of a customer about to be written: ``[{id, name, score, reasons, owner}]``."""
    key = name_key(name)
    phone_set = _phones_base(phones)
    email_set = _emails_lower(emails)
    q = Q()
    if uscc:
        q |= Q(uscc=uscc)
    if phone_set:
        q |= Q(identifiers__kind="phone", identifiers__value__in=phone_set)
    if email_set:
        q |= Q(identifiers__kind="email", identifiers__value__in=email_set)
    if key:
        q |= Q(name_key=key.core)
        keys = block_keys(key)
        if keys:
            q |= Q(dedup_prefix=keys[0])
        if len(keys) > 1:
            q |= Q(dedup_suffix=keys[1])
    if not q:
        return []
    rows = list(
        Customer.objects.unrestricted()
        .filter(q, deleted_at__isnull=True)
        .exclude(pk__in=list(exclude_ids))
        .values(
            "id",
            "name",
            "uscc",
            "phone",
            "phones",
            "email",
            "emails",
            "owner__username",
            "owner__display_name",
        )
        .distinct()[:max_candidates]
    )
    mine = Evidence(uscc=uscc or "", phones=phone_set, emails=email_set)
    dismissed = dismissed_with("customer", list(exclude_ids)) if exclude_ids else set()
    out = []
    for r in rows:
        if any(_pair(x, r["id"]) in dismissed for x in exclude_ids):
            continue
        theirs = Evidence(
            uscc=r["uscc"] or "",
            phones=_phones_base([r["phone"], *(r["phones"] or [])]),
            emails=_emails_lower([r["email"], *(r["emails"] or [])]),
        )
        score, reasons = pair_score(key, name_key(r["name"]), mine, theirs)
        if score >= threshold or EXACT_REASONS.intersection(reasons):
            out.append(
                {
                    "id": r["id"],
                    "name": r["name"],
                    "score": score,
                    "reasons": _reasons_sorted(reasons),
                    "owner": r["owner__display_name"] or r["owner__username"] or None,
                }
            )
    out.sort(key=lambda d: (-d["score"], d["id"]))
    return out[:limit]


def find_duplicates_bulk(
    rows: Sequence[dict[str, Any]], *, fuzzy: bool = True, threshold: float = DUPLICATE_THRESHOLD
) -> dict[int, list[dict[str, Any]]]:
    """Duplicates for a batch of cleaned import rows: ``{row index: [candidates]}``.

    Candidates are existing customers (``{"id", …}``) or earlier rows of the same batch
    (``{"row": index, …}``). ``fuzzy=False`` limits the database lookup to exact evidence
    (USCC, phone, e-mail, normalised name), which keeps very large imports fast.
    """
    keys = [name_key(r.get("name", "")) for r in rows]
    ev = [
        Evidence(
            uscc=r.get("uscc") or "",
            phones=_phones_base([r.get("phone", ""), *(r.get("phones") or [])]),
            emails=_emails_lower([r.get("email", ""), *(r.get("emails") or [])]),
        )
        for r in rows
    ]
    usccs = {e.uscc for e in ev if e.uscc}
    phones = set().union(*(e.phones for e in ev)) if ev else set()
    emails = set().union(*(e.emails for e in ev)) if ev else set()
    cores = {k.core for k in keys if k}
    q = Q()
    if usccs:
        q |= Q(uscc__in=usccs)
    if cores:
        q |= Q(name_key__in=cores)
    ident_ids: set[int] = set()
    for kind, values in (("phone", phones), ("email", emails)):
        values_l = list(values)
        for i in range(0, len(values_l), 900):
            ident_ids.update(
                CustomerIdentifier.objects.filter(kind=kind, value__in=values_l[i : i + 900]).values_list(
                    "customer_id", flat=True
                )
            )
    if ident_ids:
        q |= Q(pk__in=ident_ids)
    if fuzzy:
        prefixes = {bk[0] for k in keys if k and (bk := block_keys(k))}
        suffixes = {bk[1] for k in keys if k and len(bk := block_keys(k)) > 1}
        if prefixes:
            q |= Q(dedup_prefix__in=prefixes)
        if suffixes:
            q |= Q(dedup_suffix__in=suffixes)
    existing: list[dict[str, Any]] = []
    if q:
        existing = list(
            Customer.objects.unrestricted()
            .filter(q, deleted_at__isnull=True)
            .values(
                "id",
                "name",
                "uscc",
                "phone",
                "phones",
                "email",
                "emails",
                "name_key",
                "dedup_prefix",
                "dedup_suffix",
            )
        )
    # index existing candidates by every key they can be reached by
    by_key: dict[str, list[int]] = {}
    ex_keys: list[NameKey] = []
    ex_ev: list[Evidence] = []
    for n, r in enumerate(existing):
        k = name_key(r["name"])
        ex_keys.append(k)
        e = Evidence(
            uscc=r["uscc"] or "",
            phones=_phones_base([r["phone"], *(r["phones"] or [])]),
            emails=_emails_lower([r["email"], *(r["emails"] or [])]),
        )
        ex_ev.append(e)
        for kk in _lookup_keys(k, e, fuzzy):
            by_key.setdefault(kk, []).append(n)
    out: dict[int, list[dict[str, Any]]] = {}
    batch_index: dict[str, list[int]] = {}
    for i, (k, e) in enumerate(zip(keys, ev, strict=True)):
        found: dict[Any, dict[str, Any]] = {}
        lk = _lookup_keys(k, e, fuzzy)
        for n in {n for kk in lk for n in by_key.get(kk, [])}:
            score, reasons = pair_score(k, ex_keys[n], e, ex_ev[n])
            if score >= threshold or EXACT_REASONS.intersection(reasons):
                r = existing[n]
                found[("c", r["id"])] = {
                    "id": r["id"],
                    "name": r["name"],
                    "score": score,
                    "reasons": _reasons_sorted(reasons),
                }
        for j in {j for kk in lk for j in batch_index.get(kk, [])}:
            score, reasons = pair_score(k, keys[j], e, ev[j])
            if score >= threshold or EXACT_REASONS.intersection(reasons):
                found[("r", j)] = {
                    "row": j,
                    "name": rows[j].get("name", ""),
                    "score": score,
                    "reasons": _reasons_sorted(reasons),
                }
        for kk in lk:
            batch_index.setdefault(kk, []).append(i)
        if found:
            out[i] = sorted(found.values(), key=lambda d: -d["score"])[:10]
    return out


def _lookup_keys(k: NameKey, e: Evidence, fuzzy: bool) -> list[str]:
    keys = []
    if e.uscc:
        keys.append("u:" + e.uscc)
    keys += ["p:" + p for p in e.phones]
    keys += ["e:" + m for m in e.emails]
    if k:
        keys.append("n:" + k.core)
        if fuzzy:
            keys += ["b:" + b for b in block_keys(k)]
    return keys


def contact_duplicate_candidates(
    *,
    name: str,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    customer_ids: Sequence[int] = (),
    exclude_ids: Sequence[int] = (),
    limit: int = 10,
) -> list[dict[str, Any]]:
    """A contact is a likely duplicate when it shares a mobile/phone or e-mail and the name is
    similar, or has the same name at the same customer."""
    pk = person_key(name)
    phone_set = _phones_base(phones)
    email_set = _emails_lower(emails)
    q = Q()
    if phone_set:
        q |= Q(mobile__in=phone_set) | Q(phone__in=phone_set)
    if email_set:
        q |= Q(email__in=email_set)
    if pk and customer_ids:
        q |= Q(name_key=pk, customer_links__customer_id__in=list(customer_ids))
    if not q:
        return []
    rows = list(
        Contact.objects.unrestricted()
        .filter(q, deleted_at__isnull=True)
        .exclude(pk__in=list(exclude_ids))
        .values("id", "name", "name_key", "mobile", "phone", "phones", "email", "emails", "customer_id")
        .distinct()[:500]
    )
    out = []
    for r in rows:
        score, reasons = contact_pair_score(
            pk,
            r["name_key"] or person_key(r["name"]),
            phone_set,
            _phones_base([r["mobile"], r["phone"], *(r["phones"] or [])]),
            email_set,
            _emails_lower([r["email"], *(r["emails"] or [])]),
            same_customer=r["customer_id"] in set(customer_ids) if r["customer_id"] else False,
        )
        if score >= DUPLICATE_THRESHOLD:
            out.append(
                {"id": r["id"], "name": r["name"], "score": score, "reasons": _reasons_sorted(reasons)}
            )
    out.sort(key=lambda d: (-d["score"], d["id"]))
    return out[:limit]


def contact_pair_score(
    a: str,
    b: str,
    pa: frozenset[str],
    pb: frozenset[str],
    ea: frozenset[str],
    eb: frozenset[str],
    *,
    same_customer: bool,
) -> tuple[float, list[str]]:
    reasons: list[str] = []
    sim = fuzz.ratio(a, b) / 100.0 if a and b else 0.0
    score = 0.0
    if pa and not pa.isdisjoint(pb):
        reasons.append("phone")
    if ea and not ea.isdisjoint(eb):
        reasons.append("email")
    if reasons:
        score = 0.55 + 0.45 * sim
    if same_customer:
        reasons.append("same_customer")
        if sim >= 1.0:
            score = max(score, 0.9)
    if sim >= 1.0:
        reasons.append("name")
    elif sim >= 0.6:
        reasons.append("similar_name")
    return round(score, 4), reasons


# --- the scan ------------------------------------------------------------------------------


@dataclass
class ScanStats:
    rows: int = 0
    comparisons: int = 0
    pairs: int = 0
    groups: int = 0
    seconds: float = 0.0


class CustomerScanner:
    """Memory-bounded all-against-all duplicate search.

    ``add()`` each record once (streamed from the database), then ``pairs()`` / ``groups()``.
    Per record it keeps an id, the brand and industry strings (industry interned), a script flag
    and 64-bit hashes; blocking entries are (hash of key, row index) pairs in ``array``s,
    sorted once per kind of key.
    """

    def __init__(
        self,
        *,
        threshold: float = DUPLICATE_THRESHOLD,
        max_block: int = 250,
        window: int = 20,
        max_ident_block: int = 100,
        dismissed: set[tuple[int, int]] | None = None,
    ):
        self.threshold = threshold
        self.max_block = max_block
        self.window = window
        self.max_ident_block = max_ident_block
        self.dismissed = dismissed or set()
        self.ids = array("q")
        self.brand: list[str] = []
        self.industry: list[str] = []
        self.script = bytearray()
        self.uscc = array("q")
        self.phone = array("q")
        self.email = array("q")
        self.extra: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
        self.name_h = array("q")
        self.name_i = array("l")
        self.ident_h = array("q")
        self.ident_i = array("l")
        self._interned: dict[str, str] = {}
        self.stats = ScanStats()

    def add(
        self,
        pk: int,
        name: str,
        uscc: str = "",
        phone: str = "",
        email: str = "",
        phones: Iterable[str] | None = None,
        emails: Iterable[str] | None = None,
    ) -> None:
        i = len(self.ids)
        self.ids.append(pk)
        k = name_key(name)
        self.brand.append(k.brand)
        ind = k.industry
        self.industry.append(self._interned.setdefault(ind, ind))
        self.script.append(1 if k.script == CJK else 0)
        for key in block_keys(k):
            self.name_h.append(hash(key))
            self.name_i.append(i)
        uh = hash("u" + uscc) if uscc else 0
        self.uscc.append(uh)
        if uh:
            self.ident_h.append(uh)
            self.ident_i.append(i)
        p = phone.split(";")[0] if phone else ""
        ph = hash("p" + p) if p else 0
        self.phone.append(ph)
        if ph:
            self.ident_h.append(ph)
            self.ident_i.append(i)
        m = email.lower() if email else ""
        eh = hash("e" + m) if m else 0
        self.email.append(eh)
        if eh:
            self.ident_h.append(eh)
            self.ident_i.append(i)
        if phones or emails:
            xp = frozenset(hash("p" + x.split(";")[0]) for x in phones or [] if x) - {ph}
            xe = frozenset(hash("e" + x.lower()) for x in emails or [] if x) - {eh}
            if xp or xe:
                self.extra[i] = (xp, xe)
                for h in (*xp, *xe):
                    self.ident_h.append(h)
                    self.ident_i.append(i)
        self.stats.rows += 1

    # --- scoring ---

    def _phones(self, i: int) -> set[int]:
        xp = self.extra.get(i, (frozenset(), frozenset()))[0]
        return ({self.phone[i]} | xp) - {0}

    def _emails(self, i: int) -> set[int]:
        xe = self.extra.get(i, (frozenset(), frozenset()))[1]
        return ({self.email[i]} | xe) - {0}

    def score(self, i: int, j: int) -> tuple[float, list[str]]:
        """``matching.pair_score`` on the compact per-row data (same rules, no objects)."""
        cjk = self.script[i]
        if cjk != self.script[j]:
            sim = 0.0
        else:
            sim = similarity_parts(cjk == 1, self.brand[i], self.industry[i], self.brand[j], self.industry[j])
        reasons: list[str] = []
        score = 0.0
        u = self.uscc[i]
        if u and u == self.uscc[j]:
            reasons.append("uscc")
            score = 1.0
        if i in self.extra or j in self.extra:
            shared_phone = bool(self._phones(i) & self._phones(j))
            shared_email = bool(self._emails(i) & self._emails(j))
        else:
            p, e = self.phone[i], self.email[i]
            shared_phone = bool(p) and p == self.phone[j]
            shared_email = bool(e) and e == self.email[j]
        if shared_phone:
            reasons.append("phone")
        if shared_email:
            reasons.append("email")
        if shared_phone or shared_email:
            score = max(score, 0.55 + 0.45 * sim)
        if sim >= 1.0:
            reasons.append("name")
        elif sim >= 0.6:
            reasons.append("similar_name")
        return round(max(score, sim), 4), reasons

    def _core(self, i: int) -> str:
        if self.script[i]:
            return self.brand[i] + self.industry[i]
        return f"{self.brand[i]} {self.industry[i]}".strip()

    # --- blocking ---

    @staticmethod
    def _groups(hashes: array, idx: array) -> Iterable[list[int]]:
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        start = 0
        n = len(order)
        while start < n:
            h = hashes[order[start]]
            end = start + 1
            while end < n and hashes[order[end]] == h:
                end += 1
            if end - start > 1:
                members = sorted({idx[order[k]] for k in range(start, end)})
                if len(members) > 1:
                    yield members
            start = end

    def pairs(
        self, progress: Callable[[float, str], None] | None = None
    ) -> dict[tuple[int, int], tuple[float, list[str]]]:
        """Accepted pairs (row indexes) with score and reasons."""
        accepted: dict[tuple[int, int], tuple[float, list[str]]] = {}
        ids = self.ids
        threshold = self.threshold
        dismissed = self.dismissed
        stats = self.stats

        def consider(i: int, j: int) -> None:
            a, b = (i, j) if i < j else (j, i)
            if (a, b) in accepted:
                return
            if dismissed and _pair(ids[a], ids[b]) in dismissed:
                return
            stats.comparisons += 1
            s, reasons = self.score(a, b)
            if s >= threshold:
                accepted[(a, b)] = (s, reasons)

        # exact evidence first: USCC, phones, e-mails (every pair in the block is scored)
        for members in self._groups(self.ident_h, self.ident_i):
            if len(members) > self.max_ident_block:
                members = members[: self.max_ident_block]
            for i, j in combinations(members, 2):
                consider(i, j)
        if progress:
            progress(40, "identifiers compared")
        # names: only pairs whose brands are close enough to reach the threshold on the name
        # alone are scored (pairs sharing an identifier were scored above). All pairs inside
        # small blocks; a window over the block sorted by brand inside large ones.
        brand = self.brand
        industry = self.industry
        for members in self._groups(self.name_h, self.name_i):
            # sorted by brand: a brand and its extensions (盛红 / 盛红供应链馆理) are neighbours
            members.sort(key=brand.__getitem__)
            texts = [brand[m] for m in members]
            big = len(members) > self.max_block
            for p in range(len(members) - 1):
                head = texts[p]
                rest = texts[p + 1 : p + 1 + self.window] if big else texts[p + 1 :]
                mp = members[p]
                ia = industry[mp]
                for _choice, score, q in process.extract(
                    head, rest, scorer=OSA.normalized_similarity, score_cutoff=BRAND_CUTOFF, limit=None
                ):
                    mq = members[p + 1 + q]
                    if score >= 1.0:
                        # the same brand in unlike industries scores 0.7 on the name: only a shared
                        # identifier could make it a duplicate, and those pairs were scored above
                        ib = industry[mq]
                        if ia and ib and ia != ib and industry_sim(ia, ib) == 0.0:
                            continue
                    consider(mp, mq)
                q = p + 1
                cjk = self.script[mp] == 1
                while q < len(members) and texts[q].startswith(head) and q - p <= self.window:
                    mq = members[q]
                    if texts[q] != head and resplit(cjk, head, industry[mp], texts[q], industry[mq]):
                        consider(mp, mq)
                    q += 1
        if progress:
            progress(80, "names compared")
        stats.pairs = len(accepted)
        return accepted

    def groups(
        self, progress: Callable[[float, str], None] | None = None
    ) -> list[tuple[list[int], float, list[str]]]:
        """Connected groups of accepted pairs: (record ids, best score, reasons)."""
        accepted = self.pairs(progress)
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        for a, b in accepted:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        members: dict[int, list[int]] = {}
        for a, b in accepted:
            for x in (a, b):
                members.setdefault(find(x), [])
        for x in {x for pair in accepted for x in pair}:
            members[find(x)].append(x)
        info: dict[int, tuple[float, set[str]]] = {}
        for (a, _b), (s, reasons) in accepted.items():
            r = find(a)
            best, rs = info.get(r, (0.0, set()))
            info[r] = (max(best, s), rs | set(reasons))
        out = []
        for root, idxs in members.items():
            best, rs = info[root]
            out.append((sorted(self.ids[i] for i in idxs), round(best, 4), _reasons_sorted(rs)))
        self.stats.groups = len(out)
        return out


def group_key(ids: Sequence[int]) -> str:
    return hashlib.sha1(",".join(map(str, sorted(ids))).encode()).hexdigest()


@service
def store_groups(object_type: str, groups: Sequence[tuple[list[int], float, list[str]]]) -> dict[str, int]:
    """Replace the open groups of ``object_type`` with ``groups``; dismissed and merged groups stay."""
    now = timezone.now()
    wanted = {group_key(ids): (ids, score, reasons) for ids, score, reasons in groups}
    existing = {
        k: (pk, status, score, reasons)
        for k, pk, status, score, reasons in DuplicateGroup.objects.filter(
            object_type=object_type
        ).values_list("key", "pk", "status", "score", "reasons")
    }
    with transaction.atomic():
        stale = [v[0] for k, v in existing.items() if v[1] == DuplicateGroup.Status.OPEN and k not in wanted]
        for i in range(0, len(stale), 900):
            DuplicateGroup.objects.filter(pk__in=stale[i : i + 900]).delete()
        changed = [
            (score, reasons, existing[k][0])
            for k, (_ids, score, reasons) in wanted.items()
            if k in existing
            and existing[k][1] == DuplicateGroup.Status.OPEN
            and (existing[k][2] != score or existing[k][3] != reasons)
        ]
        if changed:
            # plain UPDATEs: bulk_update's CASE expressions are slow on tens of thousands of rows
            meta = DuplicateGroup._meta
            reasons_field = meta.get_field("reasons")
            qn = connection.ops.quote_name
            sql = (
                f"UPDATE {qn(meta.db_table)} SET {qn('score')} = %s, {qn('reasons')} = %s, "
                f"{qn('updated_at')} = %s WHERE {qn('id')} = %s"
            )
            stamp = meta.get_field("updated_at").get_db_prep_save(now, connection)
            with connection.cursor() as cur:
                cur.executemany(
                    sql,
                    [
                        (score, reasons_field.get_db_prep_save(r, connection), stamp, pk)
                        for score, r, pk in changed
                    ],
                )
        updates = changed
        new = [
            DuplicateGroup(
                object_type=object_type,
                key=k,
                score=score,
                reasons=reasons,
                member_ids=ids,
                created_at=now,
                updated_at=now,
            )
            for k, (ids, score, reasons) in wanted.items()
            if k not in existing
        ]
        created = DuplicateGroup.objects.bulk_create(new, batch_size=1000)
        if created and created[0].pk is None:
            keys = [g.key for g in created]
            pks = {}
            for i in range(0, len(keys), 900):
                pks.update(
                    DuplicateGroup.objects.filter(
                        object_type=object_type, key__in=keys[i : i + 900]
                    ).values_list("key", "pk")
                )
            for g in created:
                g.pk = pks[g.key]
        DuplicateMember.objects.bulk_create(
            [DuplicateMember(group_id=g.pk, object_id=oid) for g in created for oid in g.member_ids],
            batch_size=5000,
        )
    return {"created": len(created), "updated": len(updates), "removed": len(stale)}


def _all_dismissed(object_type: str) -> set[tuple[int, int]]:
    return set(DuplicateDismissal.objects.filter(object_type=object_type).values_list("low_id", "high_id"))


@service
def duplicate_scan_customers(
    *, progress: Callable[..., None] | None = None, threshold: float = DUPLICATE_THRESHOLD, store: bool = True
) -> dict[str, Any]:
    t0 = time.perf_counter()
    scanner = CustomerScanner(threshold=threshold, dismissed=_all_dismissed("customer"))
    qs = (
        Customer.objects.unrestricted()
        .filter(deleted_at__isnull=True)
        .order_by()
        .values_list("id", "name", "uscc", "phone", "email", "phones", "emails")
    )
    total = max(1, Customer.objects.unrestricted().filter(deleted_at__isnull=True).count())
    for n, (pk, name, uscc, phone, email, phones, emails) in enumerate(qs.iterator(chunk_size=20000)):
        scanner.add(pk, name, uscc, phone, email, phones, emails)
        if progress and n % 50000 == 0:
            progress(30 * n / total, "reading customers")
    groups = scanner.groups(progress)
    stored = store_groups("customer", groups) if store else {}
    scanner.stats.seconds = time.perf_counter() - t0
    return {
        "object_type": "customer",
        "rows": scanner.stats.rows,
        "comparisons": scanner.stats.comparisons,
        "pairs": scanner.stats.pairs,
        "groups": len(groups),
        "stored": stored,
        "seconds": round(scanner.stats.seconds, 2),
    }


@service
def duplicate_scan_contacts(*, progress: Callable[..., None] | None = None) -> dict[str, Any]:
    """Contacts: blocks on mobile/phone, e-mail and (primary customer, normalised name)."""
    t0 = time.perf_counter()
    blocks: dict[str, list[int]] = {}
    data: list[tuple[int, str, frozenset[str], frozenset[str], int | None]] = []
    qs = (
        Contact.objects.unrestricted()
        .filter(deleted_at__isnull=True)
        .order_by()
        .values_list("id", "name", "name_key", "mobile", "phone", "phones", "email", "emails", "customer_id")
    )
    for pk, name, nk, mobile, phone, phones, email, emails, customer_id in qs.iterator(chunk_size=20000):
        i = len(data)
        key = nk or person_key(name)
        ps = _phones_base([mobile, phone, *(phones or [])])
        es = _emails_lower([email, *(emails or [])])
        data.append((pk, key, ps, es, customer_id))
        for p in ps:
            blocks.setdefault("p" + p, []).append(i)
        for e in es:
            blocks.setdefault("e" + e, []).append(i)
        if customer_id and key:
            blocks.setdefault(f"n{customer_id}:{key}", []).append(i)
    dismissed = _all_dismissed("contact")
    accepted: dict[tuple[int, int], tuple[float, list[str]]] = {}
    for members in blocks.values():
        if len(members) < 2:
            continue
        for i, j in combinations(members[:100], 2):
            if (i, j) in accepted:
                continue
            a, b = data[i], data[j]
            if _pair(a[0], b[0]) in dismissed:
                continue
            s, reasons = contact_pair_score(
                a[1], b[1], a[2], b[2], a[3], b[3], same_customer=bool(a[4] and a[4] == b[4])
            )
            if s >= DUPLICATE_THRESHOLD:
                accepted[(i, j)] = (s, reasons)
    # union-find
    parent = list(range(len(data)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in accepted:
        parent[find(j)] = find(i)
    grouped: dict[int, tuple[set[int], float, set[str]]] = {}
    for (i, j), (s, reasons) in accepted.items():
        r = find(i)
        ids, best, rs = grouped.get(r, (set(), 0.0, set()))
        grouped[r] = (ids | {data[i][0], data[j][0]}, max(best, s), rs | set(reasons))
    groups = [(sorted(ids), round(best, 4), _reasons_sorted(rs)) for ids, best, rs in grouped.values()]
    stored = store_groups("contact", groups)
    return {
        "object_type": "contact",
        "rows": len(data),
        "pairs": len(accepted),
        "groups": len(groups),
        "stored": stored,
        "seconds": round(time.perf_counter() - t0, 2),
    }


# --- review ----------------------------------------------------------------------------------


@service
def dismiss_pairs(
    *, actor: Actor, object_type: str, ids: Sequence[int], others: Sequence[int] | None = None
) -> int:
    """Record "different records" for every pair among ``ids`` (or between ``ids`` and ``others``)."""
    if others is None:
        pairs = {_pair(a, b) for a, b in combinations(sorted(set(ids)), 2)}
    else:
        pairs = {_pair(a, b) for a in ids for b in others if a != b}
    user = actor_user(actor)
    DuplicateDismissal.objects.bulk_create(
        [DuplicateDismissal(object_type=object_type, low_id=a, high_id=b, created_by=user) for a, b in pairs],
        ignore_conflicts=True,
    )
    return len(pairs)


@service
def duplicate_group_dismiss(*, actor: Actor, group: DuplicateGroup) -> DuplicateGroup:
    """ "These are different customers": close the group and never report these pairs again."""
    with transaction.atomic():
        dismiss_pairs(actor=actor, object_type=group.object_type, ids=list(group.member_ids)[:50])
        group.status = DuplicateGroup.Status.DISMISSED
        group.resolved_at = timezone.now()
        group.resolved_by = actor_user(actor)
        group.save(update_fields=["status", "resolved_at", "resolved_by"])
        audit_log(
            actor=actor,
            action=AuditAction.OTHER,
            object_type="duplicate_group",
            object_id=group.pk,
            object_repr=f"{group.object_type} {group.member_ids}",
            data={"dismissed": group.member_ids},
        )
    return group


@service
def groups_resolved_by_merge(
    *, object_type: str, survivor_id: int, absorbed_ids: Sequence[int], actor: Actor
) -> None:
    """After a merge, open groups containing absorbed records are closed as merged."""
    group_ids = set(
        DuplicateMember.objects.filter(
            object_id__in=list(absorbed_ids), group__object_type=object_type
        ).values_list("group_id", flat=True)
    )
    DuplicateGroup.objects.filter(pk__in=group_ids, status=DuplicateGroup.Status.OPEN).update(
        status=DuplicateGroup.Status.MERGED, resolved_at=timezone.now(), resolved_by=actor_user(actor)
    )
