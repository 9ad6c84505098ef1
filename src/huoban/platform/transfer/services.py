"""Every write of the transfer app: staged imports, undo, mapping templates, exports.

Staged import (Twenty's spreadsheet import, Saleor's error policy): ``import_upload`` stores the
file and detects format, encoding, sheet, header row and a suggested mapping (a *draft* run);
``import_configure`` adjusts mapping and options; ``import_start(dry_run=True)`` validates the
whole file without writing (preview + projected counts); ``import_start`` runs it for real in the
background; ``import_undo`` reverses a finished run as a whole.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.platform.access import registry as access_registry
from huoban.platform.access.scoping import grants_for, has_perm, service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log_many
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.errors import error_messages as platform_error_messages
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, actor_user

from . import registry
from .mapping import resolve_mapping
from .models import ImportRun, ImportTemplate
from .sources import inspect, local_path, normalise_encoding
from .transforms import DATE_FORMATS

MAX_UPLOAD_BYTES = int(os.environ.get("HUOBAN_IMPORT_MAX_MB", "1024")) * 1024 * 1024
FIELD_OPTIONS = {"trim", "halfwidth", "date_format", "decimal_separator", "default", "values", "phone_region"}
RUN_OPTIONS = {"date_format", "decimal_separator", "phone_region", "update_empty", "fields", "batch_size"}


# --- permissions ------------------------------------------------------------------------------


def check_import_allowed(actor: Actor, object_type: str, dedup: str | None = None) -> None:
    user = actor_user(actor)
    if access_registry.find(object_type) is None or not registry.is_importable(object_type):
        raise ValidationError({"object_type": [_("“%(t)s” cannot be imported.") % {"t": object_type}]})
    if user is None or not has_perm(user, object_type, "import"):
        raise PermissionDeniedError(
            _("You do not have permission to import %(t)s records.") % {"t": object_type}
        )
    if dedup == ImportRun.Dedup.UPDATE and not has_perm(user, object_type, "change"):
        raise PermissionDeniedError(_("Updating existing records needs the change permission."))


def own_or_all(user: Any, qs: Any) -> Any:
    """Imports, exports and templates are their author's; administrators see everyone's."""
    return qs if grants_for(user).is_admin else qs.filter(created_by=user)


def visible_runs(user: Any) -> Any:
    return own_or_all(user, ImportRun.objects.select_related("created_by", "template"))


def _check_owner(actor: Actor, obj: ImportRun | ImportTemplate) -> None:
    user = actor_user(actor)
    if user is None or (obj.created_by_id != user.pk and not grants_for(user).is_admin):
        raise PermissionDeniedError()


def error_messages(exc: Exception) -> list[str]:
    """A domain error as lines for a page or a failed run; upload-level fields unprefixed."""
    return platform_error_messages(exc, bare_fields=("non_field_errors", "file", "mapping", "options"))


# --- options ----------------------------------------------------------------------------------


def clean_options(importer: registry.Importer, options: Any) -> dict[str, Any]:
    if options in (None, ""):
        return {}
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except ValueError:
            raise ValidationError({"options": [_("Expected a JSON object.")]})
    if not isinstance(options, dict):
        raise ValidationError({"options": [_("Expected a JSON object.")]})
    errors: list[str] = []
    unknown = set(options) - RUN_OPTIONS
    if unknown:
        errors.append(_("Unknown options: %(o)s.") % {"o": ", ".join(sorted(unknown))})
    _check_reading_options(options, errors)
    size = options.get("batch_size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 50000):
        errors.append(_("“batch_size” must be a whole number from 1 to 50000."))
    if not isinstance(options.get("update_empty", False), bool):
        errors.append(_("“%(o)s” must be true or false.") % {"o": "update_empty"})
    specs = {f.name: f for f in registry.all_fields(importer)}
    fields = options.get("fields") or {}
    if not isinstance(fields, dict):
        errors.append(_("“fields” must map field names to options."))
        fields = {}
    for name, opts in fields.items():
        if name not in specs:
            errors.append(_("Unknown field “%(f)s” in options.") % {"f": name})
            continue
        if not isinstance(opts, dict):
            errors.append(_("Options of “%(f)s” must be an object.") % {"f": name})
            continue
        bad = set(opts) - FIELD_OPTIONS
        if bad:
            errors.append(_("Unknown options for “%(f)s”: %(o)s.") % {"f": name, "o": ", ".join(sorted(bad))})
        _check_reading_options(opts, errors)
        for flag in ("trim", "halfwidth"):
            if not isinstance(opts.get(flag, True), bool):
                errors.append(_("“%(o)s” must be true or false.") % {"o": f"{name}.{flag}"})
        if "values" in opts and not isinstance(opts["values"], dict):
            errors.append(_("Value map of “%(f)s” must be an object.") % {"f": name})
    if errors:
        raise ValidationError({"options": errors})
    _check_defaults(specs, options)
    return options


def _check_reading_options(opts: dict[str, Any], errors: list[str]) -> None:
    """The options a run and each field share: date format, decimal separator, phone region."""
    import phonenumbers

    if opts.get("date_format", "auto") not in DATE_FORMATS:
        errors.append(_("Date format must be one of %(f)s.") % {"f": ", ".join(DATE_FORMATS)})
    if opts.get("decimal_separator", "auto") not in ("auto", ".", ","):
        errors.append(_("Decimal separator must be auto, “.” or “,”."))
    region = opts.get("phone_region", "CN")
    if not isinstance(region, str) or region not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(_("“%(r)s” is not a phone region (e.g. CN, HK, US).") % {"r": str(region)[:10]})


def _check_defaults(specs: dict[str, registry.FieldSpec], options: dict[str, Any]) -> None:
    """Convert every default value now, so a bad one is refused here and not in the running job."""
    from .pipeline import Context, compile_field

    shared = {k: v for k, v in options.items() if k in ("date_format", "decimal_separator", "phone_region")}
    ctx = None
    for name, opts in (options.get("fields") or {}).items():
        if opts.get("default") not in (None, ""):
            ctx = ctx or Context.for_actor(None)
            compile_field(specs[name], [], [], {**shared, **opts}, ctx)  # raises {"options": [...]}


def _json_arg(value: Any, name: str, kind: type) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            if kind is list:
                return [v.strip() for v in value.split(",") if v.strip()]
            raise ValidationError({name: [_("Expected JSON.")]})
    if not isinstance(value, kind):
        raise ValidationError(
            {name: [_("Expected a JSON %(k)s.") % {"k": "list" if kind is list else "object"}]}
        )
    return value


def _clean_match_keys(importer: registry.Importer, keys: Any) -> list[str]:
    keys = _json_arg(keys, "match_keys", list)
    if keys is None:
        return list(importer.default_match_keys)
    fields = {f.name for f in registry.all_fields(importer)}
    out = []
    for k in keys:
        k = str(k)
        if importer.match_key(k) is None:
            if k.startswith(("cf:", "cf.")) and f"cf.{k[3:]}" in fields:
                k = f"cf:{k[3:]}"
            else:
                raise ValidationError({"match_keys": [_("Unknown match key “%(k)s”.") % {"k": k}]})
        if k not in out:
            out.append(k)
    return out


# --- staged import ----------------------------------------------------------------------------


@service
def import_upload(
    *,
    actor: Actor,
    object_type: str,
    file: Any,
    file_name: str = "",
    encoding: str = "",
    sheet: str = "",
    header_row: int | None = None,
    mapping: Any = None,
    template: ImportTemplate | None = None,
    dedup: str | None = None,
    match_keys: Any = None,
    options: Any = None,
    lenient_mapping: bool = False,
) -> ImportRun:
    """Store an uploaded file as a draft run: format, encoding, sheet, header and mapping detected.

    ``lenient_mapping`` drops mapped columns the file does not have (re-import of a fixed file)."""
    check_import_allowed(actor, object_type, dedup)
    importer = registry.get_importer(object_type)
    name = os.path.basename(file_name or getattr(file, "name", "") or "import.csv")[:200]
    size = getattr(file, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [_("The file is larger than %(n)d MB.") % {"n": MAX_UPLOAD_BYTES >> 20}]}
        )
    if size == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    if template is not None and template.object_type != object_type:
        raise ValidationError({"template": [_("This template is for another object type.")]})
    run = ImportRun(
        object_type=object_type,
        file_name=name,
        created_by=actor_user(actor),
        template=template,
        status=ImportRun.Status.DRAFT,
    )
    run.file.save(name, file if isinstance(file, File) else File(file, name=name), save=False)
    run.file_size = run.file.size
    try:
        _detect(run, encoding=encoding, sheet=sheet, header_row=header_row)
        given_mapping = _json_arg(mapping, "mapping", dict)
        base_options: dict[str, Any] = {}
        if template is not None:
            # a template is reused on files with other columns: its columns the file lacks are ignored
            from_template = {k: v for k, v in (template.mapping or {}).items() if k in run.headers}
            given_mapping = {**from_template, **(given_mapping or {})}
            base_options = dict(template.options or {})
        if lenient_mapping and given_mapping:
            given_mapping = {k: v for k, v in given_mapping.items() if k in run.headers}
        opts = clean_options(importer, options) if options not in (None, "") else {}
        run.options = {**{k: v for k, v in base_options.items() if k in RUN_OPTIONS}, **opts}
        run.dedup = dedup or base_options.get("dedup") or ImportRun.Dedup.SKIP
        if run.dedup not in ImportRun.Dedup.values:
            raise ValidationError({"dedup": [_("Choose skip, update or create.")]})
        run.match_keys = _clean_match_keys(
            importer, match_keys if match_keys not in (None, "") else base_options.get("match_keys")
        )
        run.mapping, errors = resolve_mapping(importer, run.headers, given_mapping)
        if errors:
            raise ValidationError(errors)
        run.save()
    except Exception:
        run.file.delete(save=False)
        raise
    return run


def _detect(run: ImportRun, *, encoding: str = "", sheet: str = "", header_row: int | None = None) -> None:
    if encoding:
        encoding = normalise_encoding(encoding)
    with local_path(str(run.file.name)) as path:
        info = inspect(path, run.file_name, encoding=encoding, sheet=sheet, header_row=header_row)
    run.file_format = info.format
    run.encoding = info.encoding
    run.detected_encoding = info.detected_encoding
    run.delimiter = info.delimiter
    run.sheets = info.sheets
    run.sheet = info.sheet
    run.header_row = info.header_row
    headers = []
    seen: dict[str, int] = {}
    for i, h in enumerate(info.headers):
        h = (h or "").strip() or _("Column %(n)d") % {"n": i + 1}
        if h in seen:  # duplicate headers get a suffix so every column is addressable
            seen[h] += 1
            h = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
        headers.append(h)
    run.headers = headers
    run.summary = {**(run.summary or {}), "sample": info.sample_rows, "estimated_rows": info.estimated_rows}


@service
def import_configure(
    *,
    actor: Actor,
    run: ImportRun,
    mapping: Any = None,
    template: ImportTemplate | None = None,
    dedup: str | None = None,
    match_keys: Any = None,
    options: Any = None,
    encoding: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> ImportRun:
    """Change the file reading settings, mapping or options of a run that has not started."""
    _check_owner(actor, run)
    if run.status not in (ImportRun.Status.DRAFT, ImportRun.Status.DONE, ImportRun.Status.FAILED) or (
        run.status != ImportRun.Status.DRAFT and not run.dry_run
    ):
        raise ValidationError({"status": [_("This import has already run.")]})
    importer = registry.get_importer(run.object_type)
    reread = (
        (encoding is not None and normalise_encoding(encoding) != run.encoding)
        or (sheet is not None and sheet != run.sheet)
        or (header_row is not None and int(header_row) != run.header_row)
    )
    if reread:
        _detect(
            run,
            encoding=encoding if encoding is not None else run.encoding,
            sheet=sheet if sheet is not None else run.sheet,
            header_row=int(header_row) if header_row is not None else run.header_row,
        )
    given = _json_arg(mapping, "mapping", dict)
    if template is not None:
        if template.object_type != run.object_type:
            raise ValidationError({"template": [_("This template is for another object type.")]})
        run.template = template
        given = {**{k: v for k, v in (template.mapping or {}).items() if k in run.headers}, **(given or {})}
        opts = template.options or {}
        run.options = {k: v for k, v in opts.items() if k in RUN_OPTIONS}
        run.dedup = opts.get("dedup") or run.dedup
        if opts.get("match_keys"):
            run.match_keys = _clean_match_keys(importer, opts["match_keys"])
    if given is not None:
        run.mapping, errors = resolve_mapping(importer, run.headers, given, suggest=False)
        if errors:
            raise ValidationError(errors)
    elif reread:
        run.mapping, _errors = resolve_mapping(importer, run.headers, {}, suggest=True)
    if options is not None:
        run.options = clean_options(importer, options)
    if dedup is not None:
        if dedup not in ImportRun.Dedup.values:
            raise ValidationError({"dedup": [_("Choose skip, update or create.")]})
        run.dedup = dedup
    if match_keys is not None:
        run.match_keys = _clean_match_keys(importer, match_keys)
    check_import_allowed(actor, run.object_type, run.dedup)
    run.status = ImportRun.Status.DRAFT
    run.preview = {}
    run.save()
    return run


@service
def import_start(*, actor: Actor, run: ImportRun, dry_run: bool = False) -> ImportRun:
    """Queue a dry run (preview) or the real run of a draft / previewed import."""
    from huoban.platform.jobs.services import job_enqueue

    _check_owner(actor, run)
    check_import_allowed(actor, run.object_type, run.dedup)
    startable = run.status == ImportRun.Status.DRAFT or (
        run.dry_run and run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED)
    )
    if not startable:
        raise ValidationError({"status": [_("This import has already run.")]})
    if not run.mapping and not (run.options or {}).get("fields"):
        raise ValidationError({"mapping": [_("Map at least one column to a field.")]})
    n = ImportRun.objects.filter(pk=run.pk, status=run.status).update(
        status=ImportRun.Status.QUEUED,
        dry_run=dry_run,
        progress=0,
        read=0,
        created=0,
        updated=0,
        skipped=0,
        rejected=0,
        blank=0,
        checkpoint_row=0,
        error="",
        lease="",
        started_at=None,
        finished_at=None,
    )
    if n != 1:
        raise ValidationError({"status": [_("This import has already started.")]})
    if not dry_run:
        run.batches.all().delete()
        run.issues.all().delete()
        run.samples.all().delete()
    run.refresh_from_db()
    title = (_("Preview import of %(file)s") if dry_run else _("Import %(file)s")) % {"file": run.file_name}
    job = job_enqueue(
        kind="transfer.import", actor=actor, params={"run": run.pk}, title=title[:200], notify=False
    )
    ImportRun.objects.filter(pk=run.pk).update(job=job)
    run.refresh_from_db()
    return run


@service
def import_create(
    *,
    actor: Actor,
    object_type: str,
    file: Any,
    file_name: str = "",
    mapping: Any = None,
    template: ImportTemplate | None = None,
    dedup: str | None = None,
    match_keys: Any = None,
    dry_run: bool = False,
    encoding: str = "",
    sheet: str = "",
    header_row: int | None = None,
    options: Any = None,
) -> ImportRun:
    """Upload + start in one call (the API's POST /imports/)."""
    run = import_upload(
        actor=actor,
        object_type=object_type,
        file=file,
        file_name=file_name,
        encoding=encoding,
        sheet=sheet,
        header_row=header_row,
        mapping=mapping,
        template=template,
        dedup=dedup,
        match_keys=match_keys,
        options=options,
    )
    return import_start(actor=actor, run=run, dry_run=dry_run)


def rows_to_file(rows: Any) -> ContentFile:
    """JSON rows sent in an API body, as a JSON Lines file the engine streams like any other."""
    if not isinstance(rows, list):
        raise ValidationError({"rows": [_("Expected a list of objects.")]})
    lines = []
    for r in rows:
        lines.append(json.dumps(r, ensure_ascii=False, default=str))
    return ContentFile(("\n".join(lines) + "\n").encode(), name="rows.jsonl")


@service
def import_reimport(*, actor: Actor, previous: ImportRun, file: Any, file_name: str = "") -> ImportRun:
    """Upload a fixed file with the mapping and options of an earlier run (fix → re-import)."""
    _check_owner(actor, previous)
    return import_upload(
        actor=actor,
        object_type=previous.object_type,
        file=file,
        file_name=file_name,
        mapping=dict(previous.mapping or {}),
        template=previous.template,
        dedup=previous.dedup,
        match_keys=previous.match_keys,
        options=previous.options or None,
        lenient_mapping=True,
    )


# --- running (called by the job) --------------------------------------------------------------


@service
def import_execute(run: ImportRun, progress: Any = None, **kw: Any) -> ImportRun:
    from .engine import Engine

    engine = Engine(run)
    engine.execute(progress, **kw)
    return engine.run


# --- undo -------------------------------------------------------------------------------------


@service
def import_undo(*, actor: Actor, run: ImportRun) -> ImportRun:
    """Queue the undo of a finished run: created records removed, updated ones restored."""
    from huoban.platform.jobs.services import job_enqueue

    _check_owner(actor, run)
    user = actor_user(actor)
    if not has_perm(user, run.object_type, "import"):
        raise PermissionDeniedError()
    if not run.can_undo:
        raise ValidationError(
            {"status": [_("Only a finished import that created or updated records can be undone.")]}
        )
    n = ImportRun.objects.filter(pk=run.pk, undone_at__isnull=True, undo_result={}).update(
        undo_result={"status": "queued"}
    )
    if n != 1:
        raise ValidationError({"status": [_("This import is already being undone.")]})
    title = _("Undo import of %(file)s") % {"file": run.file_name}
    job_enqueue(kind="transfer.undo", actor=actor, params={"run": run.pk}, title=title[:200], notify=False)
    run.refresh_from_db()
    return run


@service
def import_undo_execute(run: ImportRun, actor: Actor, progress: Any = None) -> dict[str, Any]:
    """Reverse every batch, newest first, each in one transaction (safe to retry)."""
    from huoban.platform.access import registry as reg

    model = reg.get(run.object_type).model
    manager: Any = model._default_manager
    user = actor_user(actor)
    uid = user.pk if user is not None else None
    result = dict(run.undo_result or {})
    done_batches = set(result.get("batches_done", []))
    totals = {k: result.get(k, 0) for k in ("removed", "restored", "kept", "changed_since")}
    batches = list(run.batches.order_by("-seq"))
    fields = {f.name: f for f in registry.all_fields(registry.get_importer(run.object_type))}
    for i, batch in enumerate(batches):
        if batch.seq in done_batches:
            continue
        now = timezone.now()
        with transaction.atomic():
            removed = changed_since = restored = kept = 0
            restored_ids = []
            for a, b in batch.created_ids:
                alive = manager.unrestricted().filter(pk__gte=a, pk__lte=b, deleted_at__isnull=True)
                changed_since += alive.filter(version__gt=1).count()
                removed += alive.update(deleted_at=now, deleted_by_id=uid, version=F("version") + 1)
            entries = []
            current = {
                row["pk"]: row
                for row in manager.unrestricted()
                .filter(pk__in=[e["id"] for e in batch.updated])
                .values("pk", "version", "custom_fields")
            }
            for entry in batch.updated:
                ok, changes = _restore(model, entry, current.get(entry["id"]), fields, uid, now)
                if ok:
                    restored += 1
                    restored_ids.append(entry["id"])
                    entries.append(
                        Entry(
                            AuditAction.UPDATE,
                            run.object_type,
                            entry["id"],
                            "",
                            changes,
                            {"undo_import": run.pk},
                        )
                    )
                else:
                    kept += 1
            hook = registry.get_importer(run.object_type).after_write
            if hook is not None and restored_ids:
                hook(actor=actor, created_ids=[], updated_ids=restored_ids, created_side=None)
            entries.insert(
                0,
                Entry(
                    AuditAction.IMPORT,
                    run.object_type,
                    f"import:{run.pk}",
                    run.file_name[:300],
                    {},
                    {
                        "undo": run.pk,
                        "batch": batch.seq,
                        "removed": batch.created_ids,
                        "restored": restored_ids,
                        "kept": kept,
                    },
                ),
            )
            audit_log_many(actor=actor, entries=entries)
            totals["removed"] += removed
            totals["restored"] += restored
            totals["kept"] += kept
            totals["changed_since"] += changed_since
            done_batches.add(batch.seq)
            result.update(totals)
            result["batches_done"] = sorted(done_batches)
            result["status"] = "running"
            ImportRun.objects.filter(pk=run.pk).update(undo_result=result)
        if progress is not None:
            progress((i + 1) * 100 / max(1, len(batches)))
    result["status"] = "done"
    result.pop("batches_done", None)
    ImportRun.objects.filter(pk=run.pk).update(undone_at=timezone.now(), undone_by=user, undo_result=result)
    emit(f"{run.object_type}.import_undone", actor=actor, run=run.pk)
    run.refresh_from_db()
    return result


def _restore(
    model: Any,
    entry: dict[str, Any],
    current: dict[str, Any] | None,
    fields: dict[str, registry.FieldSpec],
    uid: Any,
    now: Any,
) -> tuple[bool, dict[str, Any]]:
    """Put back the values an import overwrote, unless the record changed since (version)."""
    from huoban.platform.records.encryption import decrypt

    manager = model._default_manager
    if current is None or current["version"] != entry["version"]:
        return False, {}
    values: dict[str, Any] = {}
    custom = dict(current["custom_fields"] or {})
    custom_changed = False
    changes: dict[str, Any] = {}
    attnames = {f.name: f.attname for f in model._meta.concrete_fields}
    for name, old in (entry.get("before") or {}).items():
        spec = fields.get(name)
        if name == "tags":
            _remove_tags_except(model, entry["id"], old or [])
            changes["tags"] = ["…", old]
            continue
        if spec is not None and spec.custom:
            if old is None:
                custom.pop(spec.key, None)
            else:
                custom[spec.key] = old
            custom_changed = True
            changes[name] = ["…", old]
            continue
        if name not in attnames:
            continue
        if spec is not None and spec.sensitive and isinstance(old, str) and old:
            old = decrypt(old)
            changes[name] = ["•••", "•••"]
        else:
            changes[name] = ["…", old]
        values[attnames[name]] = old
    if custom_changed:
        values["custom_fields"] = custom
    n = manager.filter(pk=entry["id"], version=entry["version"]).update(
        **values, version=F("version") + 1, updated_at=now, updated_by_id=uid
    )
    return n == 1, changes


def _remove_tags_except(model: Any, pk: int, names: list[str]) -> None:
    """An import only adds tags to existing records: undoing it removes the tags it added."""
    from django.contrib.contenttypes.models import ContentType

    from huoban.platform.records.models import TaggedItem

    ct = ContentType.objects.get_for_model(model)
    TaggedItem.objects.filter(content_type=ct, object_id=pk).exclude(tag__name__in=names).delete()


# --- templates --------------------------------------------------------------------------------


@service
def template_save(
    *,
    actor: Actor,
    object_type: str,
    name: str,
    mapping: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    template: ImportTemplate | None = None,
) -> ImportTemplate:
    """Create or update a named mapping template; options may carry dedup and match_keys."""
    check_import_allowed(actor, object_type)
    user = actor_user(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the template a name.")]})
    importer = registry.get_importer(object_type)
    mapping = _json_arg(mapping, "mapping", dict) or {}
    raw_opts = dict(_json_arg(options, "options", dict) or {})
    extra = {k: raw_opts.pop(k) for k in ("dedup", "match_keys") if k in raw_opts}
    opts = clean_options(importer, raw_opts)
    if "dedup" in extra:
        if extra["dedup"] not in ImportRun.Dedup.values:
            raise ValidationError({"options": [_("Choose skip, update or create.")]})
        opts["dedup"] = extra["dedup"]
    if "match_keys" in extra:
        opts["match_keys"] = _clean_match_keys(importer, extra["match_keys"])
    names = {f.name for f in registry.all_fields(importer)}
    bad = [f for f in mapping.values() if f and f not in names]
    if bad:
        raise ValidationError({"mapping": [_("Unknown fields: %(f)s.") % {"f": ", ".join(map(str, bad))}]})
    if template is not None:
        _check_owner(actor, template)
        template.name, template.mapping, template.options = name[:120], mapping, opts
        template.updated_at = timezone.now()
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError:
            raise ValidationError({"name": [_("A template with this name exists.")]})
        return template
    try:
        with transaction.atomic():
            return ImportTemplate.objects.create(
                object_type=object_type, name=name[:120], mapping=mapping, options=opts, created_by=user
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A template with this name exists.")]})


@service
def template_delete(*, actor: Actor, template: ImportTemplate) -> None:
    _check_owner(actor, template)
    template.delete()


def template_from_run(run: ImportRun) -> dict[str, Any]:
    return {
        "mapping": dict(run.mapping or {}),
        "options": {**(run.options or {}), "dedup": run.dedup, "match_keys": list(run.match_keys or [])},
    }


# --- job bodies -------------------------------------------------------------------------------


def notify_import(run: ImportRun, ok: bool) -> None:
    from huoban.platform.notifications.services import notify

    if run.created_by is None:
        return
    c = run.counts
    if run.dry_run:
        title = gettext_noop("Import preview ready: %(file)s")
    elif ok:
        title = gettext_noop("Import finished: %(file)s")
    else:
        title = gettext_noop("Import failed: %(file)s")
    body = (
        f"{c['read']} / {c['created']} / {c['updated']} / {c['skipped']} / {c['rejected']}"
        if ok
        else run.error[:500]
    )
    notify(
        recipient=run.created_by,
        verb="import.done" if ok else "import.failed",
        title=title,
        title_args={"file": run.file_name},
        body=body,
        url=f"/imports/{run.pk}/",
        data={"import": run.pk, "counts": c},
    )
