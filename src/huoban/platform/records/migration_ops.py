"""Migration helpers for schema changes that must stay cheap on large tables.

``drop_field_indexes`` removes the single-column index of fields whose ``db_index`` became
False. Django's own ``AlterField`` would do the same on PostgreSQL, but on SQLite it copies the
whole table once per altered field; here both databases just ``DROP INDEX`` (and the reverse
recreates it). Use it as the database side of ``SeparateDatabaseAndState`` next to the
``AlterField`` operations that carry the state.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def drop_field_indexes(app_label: str, model_name: str, fields: list[str]) -> migrations.RunPython:
    def forwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        for name in fields:
            column = model._meta.get_field(name).column
            for index in schema_editor._constraint_names(
                model, [column], index=True, unique=False, type_=models.Index.suffix
            ):
                schema_editor.execute(schema_editor._delete_index_sql(model, index))

    def backwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        for name in fields:
            field = model._meta.get_field(name)
            if not schema_editor._constraint_names(
                model, [field.column], index=True, unique=False, type_=models.Index.suffix
            ):
                schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    return migrations.RunPython(forwards, backwards, elidable=False)


def drop_like_indexes(app_label: str, model_name: str, fields: list[str]) -> migrations.RunPython:
    """PostgreSQL only: drop the ``varchar_pattern_ops`` twin (``…_like``) that Django adds to
    every indexed text column, for columns nothing filters with LIKE 'prefix%' (decision 0005);
    each costs a second collation-aware index insert per row. The reverse recreates them."""

    def like_indexes(schema_editor: Any, model: Any, column: str) -> list[str]:
        with schema_editor.connection.cursor() as cursor:
            found = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
        return [
            name
            for name, info in found.items()
            if info["index"] and info["columns"] == [column] and name.endswith("_like")
        ]

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = apps.get_model(app_label, model_name)
        for name in fields:
            for index in like_indexes(schema_editor, model, model._meta.get_field(name).column):
                schema_editor.execute(schema_editor._delete_index_sql(model, index))

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = apps.get_model(app_label, model_name)
        for name in fields:
            field = model._meta.get_field(name)
            if not like_indexes(schema_editor, model, field.column):
                sql = schema_editor._create_like_index_sql(model, field)
                if sql is not None:
                    schema_editor.execute(sql)

    return migrations.RunPython(forwards, backwards, elidable=False)
