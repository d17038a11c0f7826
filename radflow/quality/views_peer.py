"""Peer review pages: the program overview and assignment (managers), a radiologist's own
reviews and results (blinded both ways), the review form, and the discrepancy follow-up queue."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.quality import selectors, selectors_pages, services_peer
from radflow.quality.forms import (
    DeclineForm,
    DrawForm,
    FollowUpCloseForm,
    FollowUpForm,
    PeerReviewForm,
    ReassignForm,
)
from radflow.quality.models import RadpeerScore, ReviewStatus
from radflow.quality.pages import (
    MANAGE_REVIEWS,
    PERFORM_REVIEWS,
    VIEW_REVIEWS,
    deny,
    form_page,
    found,
    may_read_follow_up,
    may_work_follow_up,
    month_from,
    review_role,
)
from radflow.quality.rules import previous_month
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate


@page_requires(VIEW_REVIEWS)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The program as its managers run it: per month, every assignment with both names."""
    month = month_from(request)
    today = timezone.localdate()
    start = previous_month(previous_month(previous_month(previous_month(previous_month(month)))))
    status = request.GET.get("status", "")
    return render(
        request,
        "quality/peer_overview.html",
        {
            "month": month,
            "status": status if status in ReviewStatus.values else "",
            "statuses": ReviewStatus.choices,
            "months": selectors.peer_review_by_month(start=start, end=month),
            "scores": RadpeerScore.choices,
            "workload": selectors_pages.reviewer_workload(month),
            "page": paginate(
                request,
                selectors_pages.review_list(
                    month=month, status=status if status in ReviewStatus.values else ""
                ),
            ),
            "today": today,
            "can_manage": request.user.has_perm(MANAGE_REVIEWS),
            "draw_form": DrawForm(initial={"month": month.strftime("%Y-%m")}),
        },
    )


@page_requires(MANAGE_REVIEWS)
@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    form = DrawForm(request.POST)
    done = submit(
        form,
        lambda data: services_peer.peer_review_assign_month(
            month=data["month"], by=request.user, actor="page"
        ),
    )
    if done is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing assigned: {errors}")
    else:
        result = done.value
        messages.success(
            request,
            f"{result.month:%B %Y}: {result.created} read{'s' if result.created != 1 else ''} "
            f"assigned to {len(result.per_reviewer)} reviewers.",
        )
    return redirect(reverse("quality:peer_reviews") + f"?month={request.POST.get('month', '')}")


@page_requires(PERFORM_REVIEWS)
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """A radiologist's reviews to do and the results of reviews of their own reads, each view
    without the other radiologist's name."""
    staff = selectors_pages.own_staff(request.user)
    if staff is None:
        return render(request, "quality/not_linked.html")
    return render(
        request,
        "quality/peer_mine.html",
        {
            "to_do": selectors_pages.reviews_to_do(staff),
            "done": selectors_pages.reviews_done(staff),
            "results": selectors_pages.results_for_reader(staff),
            "counts": selectors_pages.reader_score_counts(staff),
            "scores": RadpeerScore.choices,
            "today": timezone.localdate(),
        },
    )


@page_requires()
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The reviewer scores here (blind to the reader); the program's people see the assignment."""
    peer_review = found(selectors_pages.review_for_page, pk)
    role = review_role(request.user, peer_review)
    if not role:
        raise deny()
    if role == "program":
        return render(
            request,
            "quality/peer_assignment.html",
            {"review": peer_review, "can_manage": request.user.has_perm(MANAGE_REVIEWS)},
        )
    form = PeerReviewForm(request.POST or None) if peer_review.status == "assigned" else None
    if request.method == "POST":
        if form is None:
            messages.error(request, "This review is already closed.")
            return redirect("quality:peer_mine")
        if form.is_valid():
            try:
                services_peer.peer_review_submit(
                    review=peer_review,
                    by=request.user,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Review recorded. Thank you.")
                return redirect("quality:peer_mine")
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[selectors_pages.patient_ref(peer_review.exam.order.patient)],
        action="quality.peer_review",
    )
    return render(
        request,
        "quality/peer_review.html",
        {
            "view": selectors_pages.reviewer_view(peer_review),
            "form": form,
            "decline_form": DeclineForm() if form is not None else None,
        },
        status=status_of(form),
    )


@page_requires(PERFORM_REVIEWS)
@require_POST
def decline(request: HttpRequest, pk: UUID) -> HttpResponse:
    peer_review = found(selectors_pages.review_for_page, pk)
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services_peer.peer_review_decline(review=peer_review, by=request.user, reason=reason)
    except PermissionDenied as exc:
        raise deny() from exc
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message if isinstance(exc, Conflict) else "Give a reason.")
        return redirect("quality:peer_review", pk=peer_review.pk)
    messages.success(request, "Review declined; the program's managers will reassign it.")
    return redirect("quality:peer_mine")


@page_requires(MANAGE_REVIEWS)
@require_http_methods(["GET", "POST"])
def reassign(request: HttpRequest, pk: UUID) -> HttpResponse:
    peer_review = found(selectors_pages.review_for_page, pk)
    form = ReassignForm(
        request.POST or None, exclude=[peer_review.reader_id, peer_review.reviewer_id]
    )
    done = submit(
        form,
        lambda data: services_peer.peer_review_reassign(
            review=peer_review, by=request.user, reviewer=data["reviewer"]
        ),
    )
    if done is not None:
        messages.success(request, f"Review given to {done.value.reviewer}.")
        return redirect("quality:peer_review", pk=peer_review.pk)
    return form_page(
        request,
        title=f"Reassign the review of {peer_review.exam.accession_number}",
        form=form,
        submit="Reassign",
        back=reverse("quality:peer_review", kwargs={"pk": peer_review.pk}),
    )


# --- discrepancy follow-up -------------------------------------------------------------------


@page_requires()
@require_GET
def follow_up_list(request: HttpRequest) -> HttpResponse:
    """Managers and readers of the program see the queue; others (radiologists) their own."""
    user = request.user
    everyone = user.has_perm(VIEW_REVIEWS)
    if not everyone and not user.has_perm(PERFORM_REVIEWS):
        raise deny()
    show_closed = request.GET.get("closed") == "1"
    rows = selectors_pages.follow_ups(
        owner=None if everyone else user.pk, include_closed=show_closed
    )
    return render(
        request,
        "quality/follow_ups.html",
        {
            "page": paginate(request, rows),
            "today": timezone.localdate(),
            "show_closed": show_closed,
            "everyone": everyone,
        },
    )


@page_requires()
@require_http_methods(["GET", "POST"])
def follow_up_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    follow_up = found(selectors_pages.follow_up_get, pk)
    if not may_read_follow_up(request.user, follow_up):
        raise deny()
    can_work = may_work_follow_up(request.user, follow_up) and follow_up.status != "closed"
    initial = {
        "owner": follow_up.owner_id,
        "due_on": follow_up.due_on,
        "action_kind": follow_up.action_kind,
        "action": follow_up.action,
    }
    form = FollowUpForm(request.POST or None, initial=initial) if can_work else None
    if request.method == "POST":
        if form is None:
            raise deny()
        done = submit(
            form,
            lambda data: services_peer.follow_up_update(
                follow_up=follow_up, by=request.user, **data
            ),
        )
        if done is not None:
            messages.success(request, "Follow-up updated.")
            return redirect("quality:follow_up_detail", pk=follow_up.pk)
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[selectors_pages.patient_ref(follow_up.review.exam.order.patient)],
        action="quality.follow_up",
    )
    return render(
        request,
        "quality/follow_up_detail.html",
        {
            "follow_up": follow_up,
            "review": follow_up.review,
            "form": form,
            "close_form": FollowUpCloseForm() if can_work else None,
            "today": timezone.localdate(),
        },
        status=status_of(form),
    )


@page_requires()
@require_POST
def follow_up_close(request: HttpRequest, pk: UUID) -> HttpResponse:
    follow_up = found(selectors_pages.follow_up_get, pk)
    if not may_work_follow_up(request.user, follow_up):
        raise deny()
    form = FollowUpCloseForm(request.POST)
    outcome = form.cleaned_data["outcome"] if form.is_valid() else ""
    try:
        services_peer.follow_up_close(follow_up=follow_up, by=request.user, outcome=outcome)
    except ValidationFailed as exc:
        messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Follow-up closed.")
    return redirect("quality:follow_up_detail", pk=follow_up.pk)
