from django.db import migrations


def create_presets(apps, schema_editor):
    from huoban.platform.identity.presets import ensure_preset_roles

    ensure_preset_roles(apps.get_model("identity", "Role"))


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]
    operations = [migrations.RunPython(create_presets, migrations.RunPython.noop)]
