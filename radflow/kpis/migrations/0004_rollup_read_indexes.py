"""Indexes for the dashboards' rollup reads: the fine rollup filtered by modality (a modality
lead's breakdowns), and the monthly histograms added up by month, measure and bucket from the
index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0003_monthly_report_packs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="kpidaily",
            index=models.Index(fields=["modality", "day"], name="kpidaily_modality_idx"),
        ),
        migrations.AddIndex(
            model_name="kpihistmonth",
            index=models.Index(
                fields=["month", "measure", "bucket", "site", "modality", "n"],
                name="kpihistmonth_fold_idx",
            ),
        ),
        # The fold index starts with the month: it takes over this one's reads.
        migrations.RemoveIndex(
            model_name="kpihistmonth",
            name="kpihistmonth_month_idx",
        ),
    ]
