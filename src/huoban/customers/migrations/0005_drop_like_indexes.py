from django.db import migrations

from huoban.platform.records.migration_ops import drop_like_indexes


class Migration(migrations.Migration):
    """PostgreSQL: drop the LIKE-prefix twins of indexed text columns that are only ever matched
    exactly (decision 0005). Nothing changes on SQLite."""

    dependencies = [("customers", "0004_drop_redundant_indexes")]

    operations = [
        drop_like_indexes(
            "customers",
            "customer",
            [
                "number",
                "uscc",
                "industry",
                "phone",
                "email",
                "source",
                "name_key",
                "dedup_prefix",
                "dedup_suffix",
                "id_number_index",
                "bank_account_index",
            ],
        ),
        drop_like_indexes("customers", "contact", ["mobile", "email", "name_key"]),
    ]
