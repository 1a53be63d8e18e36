"""Read-only admin for training runs and model versions; staff with the ``activate_modelversion``
permission can activate a version. Plots are served from the artifact folder by a staff-only
view (the artifact folder itself is never public)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from mltrain.ml.artifacts import ArtifactError
from mltrain.models import ModelVersion, TrainingRun

PLOTS = ("confusion_matrix.png", "training_curves.png", "reliability.png")
SUMMARY = (
    "accuracy", "balanced_accuracy", "macro_f1", "top3_accuracy", "macro_roc_auc", "ece",
    "clinical_accuracy", "clinical_balanced_accuracy", "clinical_melanoma_recall",
)  # fmt: skip


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _curve_point(row: dict, index: int) -> str:
    point = row["risk_coverage"][index]
    return f"{_percent(point['coverage'])} / {_percent(point['accuracy'])}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _metrics_table(metrics: dict):
    rows = [(key, metrics[key]) for key in SUMMARY if metrics.get(key) is not None]
    if not rows:
        return "-"
    return format_html(
        "<table><tbody>{}</tbody></table>",
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("version", "arch", "is_active", "accuracy", "balanced_accuracy", "created_at")
    list_filter = ("is_active", "arch")
    search_fields = ("version",)
    actions = ("activate",)
    fields = (
        "version", "arch", "is_active", "activated_at", "created_at", "path", "sha256",
        "summary", "outcomes", "trust", "per_class", "plots",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("accuracy"))
    def accuracy(self, obj: ModelVersion):
        return obj.metrics.get("accuracy")

    @admin.display(description=_("balanced accuracy"))
    def balanced_accuracy(self, obj: ModelVersion):
        return obj.metrics.get("balanced_accuracy")

    @admin.display(description=_("test metrics"))
    def summary(self, obj: ModelVersion):
        return _metrics_table(obj.metrics)

    @admin.display(description=_("outcomes on the site"))
    def outcomes(self, obj: ModelVersion):
        from diagnosis.services import outcome_counts

        counts = outcome_counts(model_version=obj.version)
        return format_html(
            "<table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", counts),
        )

    @admin.display(description=_("trust (test photos)"))
    def trust(self, obj: ModelVersion):
        try:
            config = json.loads((Path(obj.path) / "trust.json").read_text(encoding="utf-8"))
            by_type = config["test"]["by_photo_type"]
        except (OSError, ValueError, KeyError):
            return _("No trust bundle: the not-skin gate and can't-tell are off.")
        rows = [
            (
                kind,
                _percent(row["gate_pass_rate"]),
                f"{row['ece']:.3f}",
                f"{row['abstain_threshold']:.2f}",
                _percent(row["answered_coverage"]),
                _percent(row["answered_accuracy"]),
            )
            for kind, row in by_type.items()
        ]
        curve = [
            (point["threshold"], *(_curve_point(row, index) for row in by_type.values()))
            for index, point in enumerate(next(iter(by_type.values()))["risk_coverage"])
        ]
        head = format_html_join("", "<th>{}</th>", ((kind,) for kind in by_type))
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>"
            "<p>{}</p><table><thead><tr><th>{}</th>{}</tr></thead><tbody>{}</tbody></table>",
            _("photo type"),
            _("pass the gate"),
            _("ECE"),
            _("can't tell below"),
            _("answered"),
            _("answers right"),
            format_html_join("", "<tr>" + "<td>{}</td>" * 6 + "</tr>", rows),
            _("Risk-coverage: share answered / share of answers right, by top-1 threshold."),
            _("top-1 at least"),
            head,
            format_html_join("", "<tr><td>{}</td>" + "<td>{}</td>" * len(by_type) + "</tr>", curve),
        )

    @admin.display(description=_("per class (test)"))
    def per_class(self, obj: ModelVersion):
        try:
            metrics = json.loads((Path(obj.path) / "metrics.json").read_text(encoding="utf-8"))
            per_class = metrics["test"]["per_class"]
        except (OSError, ValueError, KeyError):
            return "-"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            _("class"), _("precision"), _("recall"), _("F1"), _("support"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (key, row["precision"], row["recall"], row["f1"], row["support"])
                    for key, row in per_class.items()
                ),
            ),
        )  # fmt: skip

    @admin.display(description=_("plots"))
    def plots(self, obj: ModelVersion):
        available = [n for n in PLOTS if (Path(obj.path) / "plots" / n).is_file()]
        if not available:
            return "-"
        return format_html_join(
            "",
            '<p><img src="{}" alt="{}" width="480"></p>',
            (
                (reverse("admin:mltrain_modelversion_plot", args=[obj.pk, name]), name)
                for name in available
            ),
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.plot_view)
        return [
            path("<int:pk>/plot/<str:name>", view, name="mltrain_modelversion_plot"),
            *super().get_urls(),
        ]

    def plot_view(self, request: HttpRequest, pk: int, name: str) -> FileResponse:
        if name not in PLOTS or not self.has_view_permission(request):
            raise Http404
        version = get_object_or_404(ModelVersion, pk=pk)
        target = Path(version.path) / "plots" / name
        if not target.is_file():
            raise Http404
        return FileResponse(target.open("rb"), content_type="image/png")

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("mltrain.activate_modelversion")

    @admin.action(description=_("Activate the selected model version"), permissions=["activate"])
    def activate(self, request: HttpRequest, queryset) -> None:
        from mltrain import services

        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one model version."), messages.ERROR)
            return
        version = queryset.get()
        try:
            services.activate_model_version(version=version)
        except ArtifactError as exc:
            self.message_user(
                request,
                _("%(version)s cannot be activated: %(error)s")
                % {"version": version.version, "error": exc},
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            _("%(version)s is now active.") % {"version": version.version},
            messages.SUCCESS,
        )


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ("version", "arch", "recipe", "status", "started_at", "finished_at")
    list_filter = ("status", "arch", "recipe")
    search_fields = ("version",)
    fields = (
        "version", "arch", "recipe", "weights", "data_path", "status", "error", "started_at",
        "finished_at", "model_version", "seconds_per_epoch", "summary", "history_table", "options",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("test metrics"))
    def summary(self, obj: TrainingRun):
        return _metrics_table(obj.metrics)

    @admin.display(description=_("seconds per epoch"))
    def seconds_per_epoch(self, obj: TrainingRun):
        return obj.seconds_per_epoch

    @admin.display(description=_("epochs"))
    def history_table(self, obj: TrainingRun):
        if not obj.history:
            return "-"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            _("epoch"), _("train loss"), _("val accuracy"), _("val balanced accuracy"),
            _("seconds"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (h.get("epoch"), h.get("train_loss"), h.get("val_accuracy"),
                     h.get("val_balanced_accuracy"), h.get("seconds"))
                    for h in obj.history
                ),
            ),
        )  # fmt: skip
