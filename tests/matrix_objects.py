"""One real object of each kind, so the role matrix opens real detail pages, not 404s."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from radflow.accounts.models import ApiToken
from radflow.accounts.services import api_token_create, user_create
from radflow.core.roles import Role
from radflow.orders.models import CompletenessRule
from radflow.orders.services import attachment_add, authorization_request, payer_auth_rule_save
from tests.billing.factories import PayerFactory
from tests.catalog.factories import ExamTypeFactory, ProcedureCodeFactory
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import DeviceFactory, ProbeFactory, RoomFactory
from tests.staff.factories import StaffMemberFactory


@dataclass
class MatrixObjects:
    by_prefix: dict[str, Any]
    by_path_param: dict[str, Any]

    def value_for(self, url_name: str, kwarg: str) -> Any:
        """The primary key a page of ``url_name`` expects in ``kwarg``."""
        for prefix, obj in self.by_prefix.items():
            if url_name.startswith(prefix):
                return obj.pk
        if kwarg in ("object_id", "pk"):
            return str(uuid.uuid4())
        if kwarg == "app_label":
            return "patients"
        return "1"

    def fill_api_path(self, path: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(self.by_path_param[m.group(1)].pk), path)


def matrix_objects() -> MatrixObjects:
    room = RoomFactory()
    device = DeviceFactory(room=room)
    ProbeFactory(device=device)
    patient = PatientFactory()
    exam_type = ExamTypeFactory.create()
    staff = StaffMemberFactory()
    PayerFactory()
    order = make_order(exam_type=exam_type)
    authorization = authorization_request(order=order, by=None)
    attachment = attachment_add(
        order=order,
        by=None,
        kind="requisition",
        upload=SimpleUploadedFile("requisition.pdf", b"%PDF-1.4 matrix", "application/pdf"),
    )
    completeness_rule = CompletenessRule.objects.create(requirement="clinical_indication")
    auth_rule = payer_auth_rule_save(
        by=None,
        payer=PayerFactory.create(),
        procedure_code=ProcedureCodeFactory.create(),
        auth_required=True,
        lead_time_days=3,
    )
    owner = user_create(username="token_owner", password="x" * 20, roles=[Role.DIRECTOR])
    token: ApiToken = api_token_create(user=owner, name="interface engine")[0]
    by_prefix: dict[str, Any] = {
        "patients:": patient,
        "scheduling:site": room.site,
        "scheduling:room": room,
        "scheduling:device": device,
        "catalog:exam_type": exam_type,
        "staff:": staff,
        "accounts:token": token,
        "orders:attachment": attachment,
        "orders:rule": completeness_rule,
        "orders:": order,
        "authorizations:request": order,
        "authorizations:rule": auth_rule,
        "authorizations:": authorization,
        "exams:": order.exam,
        "intake:": order.exam,
    }
    by_path_param: dict[str, Any] = {
        "patient_id": patient,
        "site_id": room.site,
        "room_id": room,
        "device_id": device,
        "exam_type_id": exam_type,
        "staff_id": staff,
        "order_id": order,
        "exam_id": order.exam,
        "authorization_id": authorization,
    }
    return MatrixObjects(by_prefix, by_path_param)
