"""The ``Curators`` group: exactly the permissions to edit the catalogue, nothing else.

Diseases, their reference links (edited inline on the disease page) and their images: add,
change, delete and view. Permissions are normally created after all migrations have run, so
they are created here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Curators"
MODELS = ("disease", "diseasereference", "diseaseimage")
ACTIONS = ("add", "change", "delete", "view")


def create_curators(apps, schema_editor):
    app_config = apps.get_app_config("diseases")
    app_config.models_module = True  # create_permissions skips apps without models
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{action}_{model}" for model in MODELS for action in ACTIONS]
    permissions = Permission.objects.filter(
        content_type__app_label="diseases", codename__in=codenames
    )
    if permissions.count() != len(codenames):
        raise RuntimeError("The catalogue's permissions were not created.")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.set(permissions)


def remove_curators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("diseases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_curators, remove_curators)]
