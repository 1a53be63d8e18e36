from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import privacy, services
from accounts.forms import DeleteAccountForm
from accounts.models import User
from accounts.preferences import LANGUAGE_CODES, set_language_cookie, set_theme_cookie
from accounts.timezones import is_time_zone


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.headers.get("referer") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered in the profile and in a cookie."""
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_next_url(request))
    if language not in LANGUAGE_CODES:
        messages.error(request, _("That language is not available."))
        return response
    if request.user.is_authenticated:
        services.set_preferred_language(user=request.user, language=language)
    set_language_cookie(response, language)
    translation.activate(language)
    return response


@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """Switch between light, dark and the system's theme; remembered like the language."""
    theme = request.POST.get("theme", "")
    response = HttpResponseRedirect(_next_url(request))
    if theme not in User.Theme.values:
        messages.error(request, _("That theme is not available."))
        return response
    if request.user.is_authenticated:
        services.set_theme(user=request.user, theme=theme)
    set_theme_cookie(response, theme)
    return response


@login_required
@require_POST
def set_time_zone(request: HttpRequest) -> HttpResponse:
    """The zone the browser reports (site.js sends it when it differs from the saved one)."""
    zone = request.POST.get("time_zone", "")
    if not is_time_zone(zone):
        return HttpResponse(status=400)
    services.set_time_zone(user=request.user, zone=zone)  # type: ignore[arg-type]
    return HttpResponse(status=204)


@login_required
def privacy_page(request: HttpRequest) -> HttpResponse:
    """Download everything, or delete the account."""
    form = DeleteAccountForm(user=request.user)
    return render(request, "accounts/privacy.html", {"form": form})


@login_required
@require_POST
def export_data(request: HttpRequest) -> FileResponse:
    archive = privacy.export_account_data(user=request.user)
    name = f"skinsite-export-{timezone.now():%Y%m%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")


@login_required
@require_POST
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "accounts/privacy.html", {"form": form}, status=400)
    privacy.delete_account(request=request, user=request.user)
    messages.success(request, _("Your account, your photos and your history have been deleted."))
    return redirect("home")
