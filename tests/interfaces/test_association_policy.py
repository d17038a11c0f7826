"""The association policy over real TCP: a pynetdicom modality calls RadFlow's DICOM server
(the ``dicom_port`` fixture runs ``dicom_server.start_server``) and is let in, kept read-only
or turned away as the AE registry and the unknown-caller policy say."""

from __future__ import annotations

import logging

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)

from radflow.interfaces.models import ApplicationEntity, PerformedProcedureStep, UnknownCallerPolicy
from radflow.interfaces.services import ae_create, ae_deactivate, policy_set

pytestmark = pytest.mark.django_db(transaction=True)

NOT_AUTHORISED = 0x0124


def associate(port: int, calling_ae: str) -> Association:
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(Verification)
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    return ae.associate("127.0.0.1", port, ae_title="RADFLOW")


def worklist_query() -> Dataset:
    step = Dataset()
    step.Modality = "US"
    step.ScheduledProcedureStepStartDate = ""
    step.ScheduledStationAETitle = ""
    query = Dataset()
    query.PatientName = ""
    query.PatientID = ""
    query.AccessionNumber = ""
    query.ScheduledProcedureStepSequence = [step]
    return query


def mpps_create() -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "FINDSCU"
    ds.PerformedProcedureStepStartDate = "20260302"
    ds.PerformedProcedureStepStartTime = "090130"
    ds.Modality = "US"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN0001"
    ref = Dataset()
    ref.AccessionNumber = "A0001"
    ref.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.77"
    ref.ScheduledProcedureStepID = "A0001"
    ds.ScheduledStepAttributesSequence = [ref]
    return ds


def final_status(assoc: Association, query: Dataset) -> int:
    statuses = [
        int(status.Status)
        for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)
        if status
    ]
    assert statuses, "no C-FIND response"
    return statuses[-1]


def rejection_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Reason:")]


def test_an_unknown_ae_is_rejected_under_the_reject_policy(
    dicom_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.REJECT)
    caplog.set_level(logging.INFO)

    assoc = associate(dicom_port, "STRANGER")

    assert assoc.is_rejected and not assoc.is_established
    assert rejection_reasons(caplog) == ["Reason: Calling AE title not recognised"]
    server_lines = [r.getMessage() for r in caplog.records if r.name == "radflow.interfaces.dicom"]
    assert (
        "DICOM association from STRANGER at 127.0.0.1 rejected: unknown AE, rejected by policy"
        in server_lines
    )


def test_an_unknown_ae_is_let_in_read_only_and_its_mpps_refused(dicom_port: int) -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)

    assoc = associate(dicom_port, "FINDSCU")
    assert assoc.is_established
    try:
        assert int(assoc.send_c_echo().Status) == 0x0000
        assert final_status(assoc, worklist_query()) == 0x0000
        status, _ = assoc.send_n_create(
            mpps_create(), ModalityPerformedProcedureStep, "1.2.826.0.1.3680043.10.543.78"
        )
        assert int(status.Status) == NOT_AUTHORISED
    finally:
        assoc.release()
    assert not PerformedProcedureStep.objects.exists()


def test_a_registered_ae_is_let_in_and_stamped_as_seen(dicom_port: int) -> None:
    ae_create(ae_title="US_MAIN_01", host="127.0.0.1")

    assoc = associate(dicom_port, "US_MAIN_01")
    assert assoc.is_established
    try:
        assert int(assoc.send_c_echo().Status) == 0x0000
    finally:
        assoc.release()
    assert ApplicationEntity.objects.get(ae_title="US_MAIN_01").last_seen_at is not None


def test_a_registered_ae_calling_from_another_address_is_rejected(
    dicom_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    ae_create(ae_title="US_MAIN_01", host="10.20.0.15")
    caplog.set_level(logging.INFO)

    assoc = associate(dicom_port, "US_MAIN_01")

    assert assoc.is_rejected
    assert "DICOM association from US_MAIN_01 at 127.0.0.1 rejected: address mismatch" in [
        r.getMessage() for r in caplog.records
    ]
    assert ApplicationEntity.objects.get().last_seen_at is None


def test_a_deactivated_ae_is_rejected_even_under_the_read_only_policy(dicom_port: int) -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    ae_deactivate(ae=ae_create(ae_title="US_MAIN_01"))

    assert associate(dicom_port, "US_MAIN_01").is_rejected


def test_a_registered_ae_without_mpps_rights_queries_but_may_not_report(dicom_port: int) -> None:
    ae_create(ae_title="US_VIEWER", may_send_mpps=False)

    assoc = associate(dicom_port, "US_VIEWER")
    assert assoc.is_established
    try:
        assert final_status(assoc, worklist_query()) == 0x0000
        status, _ = assoc.send_n_create(
            mpps_create(), ModalityPerformedProcedureStep, "1.2.826.0.1.3680043.10.543.79"
        )
        assert int(status.Status) == NOT_AUTHORISED
    finally:
        assoc.release()
    assert not PerformedProcedureStep.objects.exists()


def test_the_policy_change_applies_to_the_next_association(dicom_port: int) -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    first = associate(dicom_port, "FINDSCU")
    assert first.is_established
    first.release()

    policy_set(unknown_caller=UnknownCallerPolicy.REJECT)

    assert associate(dicom_port, "FINDSCU").is_rejected
