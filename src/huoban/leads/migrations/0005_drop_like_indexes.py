from django.db import migrations

from huoban.platform.records.migration_ops import drop_like_indexes


class Migration(migrations.Migration):
    """PostgreSQL: drop the LIKE-prefix twins of indexed text columns that are only ever matched
    exactly (decision 0005). Nothing changes on SQLite."""

    dependencies = [("leads", "0004_webform_owner_indexes")]

    operations = [
        drop_like_indexes("leads", "lead", ["number"]),
    ]
