"""Covering indexes for the stock ledger's sums: on-hand per (item, location, lot) and what
exams used, read from the index without visiting the ledger's rows."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0005_hard_stop_probe_contrast"),
        ("supplies", "0001_stock_ledger_vendors_items_lots"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(
                fields=["item", "location", "lot", "quantity"], name="supplies_mv_balance_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(
                condition=models.Q(("exam__isnull", False)),
                fields=["exam", "item", "quantity"],
                name="supplies_mv_exam_use_idx",
            ),
        ),
        # The balance index starts with the same columns: it takes over this one's lookups.
        migrations.RemoveIndex(
            model_name="stockmovement",
            name="supplies_mv_stock_idx",
        ),
    ]
