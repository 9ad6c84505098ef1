from django.db import migrations

from huoban.platform.records.migration_ops import drop_like_indexes


class Migration(migrations.Migration):
    """PostgreSQL: drop the LIKE-prefix twins of indexed text columns that are only ever matched
    exactly (decision 0005). Nothing changes on SQLite."""

    dependencies = [("audit", "0003_alter_auditevent_actor")]

    operations = [
        drop_like_indexes("audit", "auditevent", ["object_type", "action"]),
    ]
