from django.apps import AppConfig


class CharterConfig(AppConfig):
    name = "charter"
    verbose_name = "Charter, people and departments"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import roles_sync

        post_migrate.connect(roles_sync, sender=self)
