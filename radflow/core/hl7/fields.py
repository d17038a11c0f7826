"""HL7 v2 segments and fields by name, and a reading of any message that never fails.

The message console shows every message as it was received or sent, parsed by segment and field
with the standard's names (HL7 v2.5.1, chapters 2, 3, 4, 4A, 6, 7, 10; for the fields that exist
in both, v2.3.1 uses the same names). A message the inbound handler refused is shown too, so this
reading is deliberately separate from that handler's parser and tolerant of anything: no MSH,
a short MSH-2, bytes that are not in the declared character set, LF instead of CR between
segments. What it could not read cleanly it says in ``SplitMessage.problems`` and shows anyway.

The same module turns a message into the text a person edits (one segment per line) and the
edited text back into bytes (segments ended by CR) for an edited replay or resend.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from radflow.core.errors import ValidationFailed

# --- names --------------------------------------------------------------------------------------


def _table(spec: str) -> tuple[tuple[str, str], ...]:
    """``"TYPE Name"`` per line, field 1 first → ((name, type), ...)."""
    rows: list[tuple[str, str]] = []
    for line in spec.strip().splitlines():
        data_type, name = line.strip().split(" ", 1)
        rows.append((name, data_type))
    return tuple(rows)


SEGMENT_NAMES: dict[str, str] = {
    "MSH": "Message Header",
    "EVN": "Event Type",
    "PID": "Patient Identification",
    "PD1": "Patient Additional Demographic",
    "PV1": "Patient Visit",
    "PV2": "Patient Visit - Additional Information",
    "MRG": "Merge Patient Information",
    "ORC": "Common Order",
    "OBR": "Observation Request",
    "TQ1": "Timing/Quantity",
    "IPC": "Imaging Procedure Control",
    "OBX": "Observation/Result",
    "NTE": "Notes and Comments",
    "AL1": "Patient Allergy Information",
    "DG1": "Diagnosis",
    "IN1": "Insurance",
    "SCH": "Scheduling Activity Information",
    "RGS": "Resource Group",
    "AIS": "Appointment Information - Service",
    "AIG": "Appointment Information - General Resource",
    "AIL": "Appointment Information - Location Resource",
    "AIP": "Appointment Information - Personnel Resource",
    "MSA": "Message Acknowledgment",
    "ERR": "Error",
}

#: Field names and data types per segment; index 0 is field 1 (for MSH, MSH-1 the separator).
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "MSH": _table("""
        ST Field Separator
        ST Encoding Characters
        HD Sending Application
        HD Sending Facility
        HD Receiving Application
        HD Receiving Facility
        TS Date/Time of Message
        ST Security
        MSG Message Type
        ST Message Control ID
        PT Processing ID
        VID Version ID
        NM Sequence Number
        ST Continuation Pointer
        ID Accept Acknowledgment Type
        ID Application Acknowledgment Type
        ID Country Code
        ID Character Set
        CE Principal Language of Message
        ID Alternate Character Set Handling Scheme
        EI Message Profile Identifier
    """),
    "EVN": _table("""
        ID Event Type Code
        TS Recorded Date/Time
        TS Date/Time Planned Event
        IS Event Reason Code
        XCN Operator ID
        TS Event Occurred
        HD Event Facility
    """),
    "PID": _table("""
        SI Set ID - PID
        CX Patient ID
        CX Patient Identifier List
        CX Alternate Patient ID - PID
        XPN Patient Name
        XPN Mother's Maiden Name
        TS Date/Time of Birth
        IS Administrative Sex
        XPN Patient Alias
        CE Race
        XAD Patient Address
        IS County Code
        XTN Phone Number - Home
        XTN Phone Number - Business
        CE Primary Language
        CE Marital Status
        CE Religion
        CX Patient Account Number
        ST SSN Number - Patient
        DLN Driver's License Number - Patient
        CX Mother's Identifier
        CE Ethnic Group
        ST Birth Place
        ID Multiple Birth Indicator
        NM Birth Order
        CE Citizenship
        CE Veterans Military Status
        CE Nationality
        TS Patient Death Date and Time
        ID Patient Death Indicator
        ID Identity Unknown Indicator
        IS Identity Reliability Code
        TS Last Update Date/Time
        HD Last Update Facility
        CE Species Code
        CE Breed Code
        ST Strain
        CE Production Class Code
        CWE Tribal Citizenship
    """),
    "PD1": _table("""
        IS Living Dependency
        IS Living Arrangement
        XON Patient Primary Facility
        XCN Patient Primary Care Provider Name & ID No.
        IS Student Indicator
        IS Handicap
        IS Living Will Code
        IS Organ Donor Code
        ID Separate Bill
        CX Duplicate Patient
        CE Publicity Code
        ID Protection Indicator
        DT Protection Indicator Effective Date
        XON Place of Worship
        CE Advance Directive Code
        IS Immunization Registry Status
        DT Immunization Registry Status Effective Date
        DT Publicity Code Effective Date
        IS Military Branch
        IS Military Rank/Grade
        IS Military Status
    """),
    "PV1": _table("""
        SI Set ID - PV1
        IS Patient Class
        PL Assigned Patient Location
        IS Admission Type
        CX Preadmit Number
        PL Prior Patient Location
        XCN Attending Doctor
        XCN Referring Doctor
        XCN Consulting Doctor
        IS Hospital Service
        PL Temporary Location
        IS Preadmit Test Indicator
        IS Re-admission Indicator
        IS Admit Source
        IS Ambulatory Status
        IS VIP Indicator
        XCN Admitting Doctor
        IS Patient Type
        CX Visit Number
        FC Financial Class
        IS Charge Price Indicator
        IS Courtesy Code
        IS Credit Rating
        IS Contract Code
        DT Contract Effective Date
        NM Contract Amount
        NM Contract Period
        IS Interest Code
        IS Transfer to Bad Debt Code
        DT Transfer to Bad Debt Date
        IS Bad Debt Agency Code
        NM Bad Debt Transfer Amount
        NM Bad Debt Recovery Amount
        IS Delete Account Indicator
        DT Delete Account Date
        IS Discharge Disposition
        DLD Discharged to Location
        CE Diet Type
        IS Servicing Facility
        IS Bed Status
        IS Account Status
        PL Pending Location
        PL Prior Temporary Location
        TS Admit Date/Time
        TS Discharge Date/Time
        NM Current Patient Balance
        NM Total Charges
        NM Total Adjustments
        NM Total Payments
        CX Alternate Visit ID
        IS Visit Indicator
        XCN Other Healthcare Provider
    """),
    "PV2": _table("""
        PL Prior Pending Location
        CE Accommodation Code
        CE Admit Reason
        CE Transfer Reason
        ST Patient Valuables
        ST Patient Valuables Location
        IS Visit User Code
        TS Expected Admit Date/Time
        TS Expected Discharge Date/Time
        NM Estimated Length of Inpatient Stay
        NM Actual Length of Inpatient Stay
        ST Visit Description
        XCN Referral Source Code
        DT Previous Service Date
        ID Employment Illness Related Indicator
        IS Purge Status Code
        DT Purge Status Date
        IS Special Program Code
        ID Retention Indicator
        NM Expected Number of Insurance Plans
        IS Visit Publicity Code
        ID Visit Protection Indicator
        XON Clinic Organization Name
        IS Patient Status Code
        IS Visit Priority Code
        DT Previous Treatment Date
        IS Expected Discharge Disposition
        DT Signature on File Date
        DT First Similar Illness Date
        CE Patient Charge Adjustment Code
        IS Recurring Service Code
        ID Billing Media Code
        TS Expected Surgery Date and Time
        ID Military Partnership Code
        ID Military Non-Availability Code
        ID Newborn Baby Indicator
        ID Baby Detained Indicator
        CE Mode of Arrival Code
        CE Recreational Drug Use Code
        CE Admission Level of Care Code
        CE Precaution Code
        CE Patient Condition Code
        IS Living Will Code
        IS Organ Donor Code
        CE Advance Directive Code
        DT Patient Status Effective Date
        TS Expected LOA Return Date/Time
        TS Expected Pre-admission Testing Date/Time
        IS Notify Clergy Code
    """),
    "MRG": _table("""
        CX Prior Patient Identifier List
        CX Prior Alternate Patient ID
        CX Prior Patient Account Number
        CX Prior Patient ID
        CX Prior Visit Number
        CX Prior Alternate Visit ID
        XPN Prior Patient Name
    """),
    "ORC": _table("""
        ID Order Control
        EI Placer Order Number
        EI Filler Order Number
        EI Placer Group Number
        ID Order Status
        ID Response Flag
        TQ Quantity/Timing
        EIP Parent
        TS Date/Time of Transaction
        XCN Entered By
        XCN Verified By
        XCN Ordering Provider
        PL Enterer's Location
        XTN Call Back Phone Number
        TS Order Effective Date/Time
        CE Order Control Code Reason
        CE Entering Organization
        CE Entering Device
        XCN Action By
        CE Advanced Beneficiary Notice Code
        XON Ordering Facility Name
        XAD Ordering Facility Address
        XTN Ordering Facility Phone Number
        XAD Ordering Provider Address
        CWE Order Status Modifier
        CWE Advanced Beneficiary Notice Override Reason
        TS Filler's Expected Availability Date/Time
        CWE Confidentiality Code
        CWE Order Type
        CNE Enterer Authorization Mode
        CWE Parent Universal Service Identifier
    """),
    "OBR": _table("""
        SI Set ID - OBR
        EI Placer Order Number
        EI Filler Order Number
        CE Universal Service Identifier
        ID Priority - OBR
        TS Requested Date/Time
        TS Observation Date/Time
        TS Observation End Date/Time
        CQ Collection Volume
        XCN Collector Identifier
        ID Specimen Action Code
        CE Danger Code
        ST Relevant Clinical Information
        TS Specimen Received Date/Time
        SPS Specimen Source
        XCN Ordering Provider
        XTN Order Callback Phone Number
        ST Placer Field 1
        ST Placer Field 2
        ST Filler Field 1
        ST Filler Field 2
        TS Results Rpt/Status Chng - Date/Time
        MOC Charge to Practice
        ID Diagnostic Serv Sect ID
        ID Result Status
        PRL Parent Result
        TQ Quantity/Timing
        XCN Result Copies To
        EIP Parent
        ID Transportation Mode
        CE Reason for Study
        NDL Principal Result Interpreter
        NDL Assistant Result Interpreter
        NDL Technician
        NDL Transcriptionist
        TS Scheduled Date/Time
        NM Number of Sample Containers
        CE Transport Logistics of Collected Sample
        CE Collector's Comment
        CE Transport Arrangement Responsibility
        ID Transport Arranged
        ID Escort Required
        CE Planned Patient Transport Comment
        CE Procedure Code
        CE Procedure Code Modifier
        CE Placer Supplemental Service Information
        CE Filler Supplemental Service Information
        CWE Medically Necessary Duplicate Procedure Reason
        IS Result Handling
    """),
    "TQ1": _table("""
        SI Set ID - TQ1
        CQ Quantity
        RPT Repeat Pattern
        TM Explicit Time
        CQ Relative Time and Units
        CQ Service Duration
        TS Start Date/Time
        TS End Date/Time
        CWE Priority
        TX Condition Text
        TX Text Instruction
        ID Conjunction
        CQ Occurrence Duration
        NM Total Occurrences
    """),
    "IPC": _table("""
        EI Accession Identifier
        EI Requested Procedure ID
        EI Study Instance UID
        EI Scheduled Procedure Step ID
        CE Modality
        CE Protocol Code
        EI Scheduled Station Name
        CE Scheduled Procedure Step Location
        ST Scheduled AE Title
    """),
    "OBX": _table("""
        SI Set ID - OBX
        ID Value Type
        CE Observation Identifier
        ST Observation Sub-ID
        * Observation Value
        CE Units
        ST References Range
        IS Abnormal Flags
        NM Probability
        ID Nature of Abnormal Test
        ID Observation Result Status
        TS Effective Date of Reference Range
        ST User Defined Access Checks
        TS Date/Time of the Observation
        CE Producer's ID
        XCN Responsible Observer
        CE Observation Method
        EI Equipment Instance Identifier
        TS Date/Time of the Analysis
    """),
    "NTE": _table("""
        SI Set ID - NTE
        ID Source of Comment
        FT Comment
        CE Comment Type
    """),
    "AL1": _table("""
        SI Set ID - AL1
        CE Allergen Type Code
        CE Allergen Code/Mnemonic/Description
        CE Allergy Severity Code
        ST Allergy Reaction Code
        DT Identification Date
    """),
    "DG1": _table("""
        SI Set ID - DG1
        ID Diagnosis Coding Method
        CE Diagnosis Code - DG1
        ST Diagnosis Description
        TS Diagnosis Date/Time
        IS Diagnosis Type
        CE Major Diagnostic Category
        CE Diagnostic Related Group
        ID DRG Approval Indicator
        IS DRG Grouper Review Code
        CE Outlier Type
        NM Outlier Days
        CP Outlier Cost
        ST Grouper Version and Type
        ID Diagnosis Priority
        XCN Diagnosing Clinician
        IS Diagnosis Classification
        ID Confidential Indicator
        TS Attestation Date/Time
        EI Diagnosis Identifier
        ID Diagnosis Action Code
    """),
    "IN1": _table("""
        SI Set ID - IN1
        CE Insurance Plan ID
        CX Insurance Company ID
        XON Insurance Company Name
        XAD Insurance Company Address
        XPN Insurance Co Contact Person
        XTN Insurance Co Phone Number
        ST Group Number
        XON Group Name
        CX Insured's Group Emp ID
        XON Insured's Group Emp Name
        DT Plan Effective Date
        DT Plan Expiration Date
        AUI Authorization Information
        IS Plan Type
        XPN Name of Insured
        CE Insured's Relationship to Patient
        TS Insured's Date of Birth
        XAD Insured's Address
        IS Assignment of Benefits
        IS Coordination of Benefits
        ST Coord of Ben. Priority
        ID Notice of Admission Flag
        DT Notice of Admission Date
        ID Report of Eligibility Flag
        DT Report of Eligibility Date
        IS Release Information Code
        ST Pre-Admit Cert (PAC)
        TS Verification Date/Time
        XCN Verification By
        IS Type of Agreement Code
        IS Billing Status
        NM Lifetime Reserve Days
        NM Delay Before L.R. Day
        IS Company Plan Code
        ST Policy Number
        CP Policy Deductible
        CP Policy Limit - Amount
        NM Policy Limit - Days
        CP Room Rate - Semi-Private
        CP Room Rate - Private
        CE Insured's Employment Status
        IS Insured's Administrative Sex
        XAD Insured's Employer's Address
        ST Verification Status
        IS Prior Insurance Plan ID
        IS Coverage Type
        IS Handicap
        CX Insured's ID Number
        CE Signature Code
        DT Signature Code Date
        ST Insured's Birth Place
        IS VIP Indicator
    """),
    "SCH": _table("""
        EI Placer Appointment ID
        EI Filler Appointment ID
        NM Occurrence Number
        EI Placer Group Number
        CE Schedule ID
        CE Event Reason
        CE Appointment Reason
        CE Appointment Type
        NM Appointment Duration
        CE Appointment Duration Units
        TQ Appointment Timing Quantity
        XCN Placer Contact Person
        XTN Placer Contact Phone Number
        XAD Placer Contact Address
        PL Placer Contact Location
        XCN Filler Contact Person
        XTN Filler Contact Phone Number
        XAD Filler Contact Address
        PL Filler Contact Location
        XCN Entered By Person
        XTN Entered By Phone Number
        PL Entered By Location
        EI Parent Placer Appointment ID
        EI Parent Filler Appointment ID
        CE Filler Status Code
        EI Placer Order Number
        EI Filler Order Number
    """),
    "RGS": _table("""
        SI Set ID - RGS
        ID Segment Action Code
        CE Resource Group ID
    """),
    "AIS": _table("""
        SI Set ID - AIS
        ID Segment Action Code
        CE Universal Service Identifier
        TS Start Date/Time
        NM Start Date/Time Offset
        CE Start Date/Time Offset Units
        NM Duration
        CE Duration Units
        IS Allow Substitution Code
        CE Filler Status Code
        CE Placer Supplemental Service Information
        CE Filler Supplemental Service Information
    """),
    "AIG": _table("""
        SI Set ID - AIG
        ID Segment Action Code
        CE Resource ID
        CE Resource Type
        CE Resource Group
        NM Resource Quantity
        CE Resource Quantity Units
        TS Start Date/Time
        NM Start Date/Time Offset
        CE Start Date/Time Offset Units
        NM Duration
        CE Duration Units
        IS Allow Substitution Code
        CE Filler Status Code
    """),
    "AIL": _table("""
        SI Set ID - AIL
        ID Segment Action Code
        PL Location Resource ID
        CE Location Type - AIL
        CE Location Group
        TS Start Date/Time
        NM Start Date/Time Offset
        CE Start Date/Time Offset Units
        NM Duration
        CE Duration Units
        IS Allow Substitution Code
        CE Filler Status Code
    """),
    "AIP": _table("""
        SI Set ID - AIP
        ID Segment Action Code
        XCN Personnel Resource ID
        CE Resource Type
        CE Resource Group
        TS Start Date/Time
        NM Start Date/Time Offset
        CE Start Date/Time Offset Units
        NM Duration
        CE Duration Units
        IS Allow Substitution Code
        CE Filler Status Code
    """),
    "MSA": _table("""
        ID Acknowledgment Code
        ST Message Control ID
        ST Text Message
        NM Expected Sequence Number
        ID Delayed Acknowledgment Type
        CE Error Condition
    """),
    "ERR": _table("""
        ELD Error Code and Location
        ERL Error Location
        CWE HL7 Error Code
        ID Severity
        CWE Application Error Code
        ST Application Error Parameter
        TX Diagnostic Information
        TX User Message
        IS Inform Person Indicator
        CWE Override Type
        CWE Override Reason Code
        XTN Help Desk Contact Point
    """),
}

_CE = (
    "Identifier",
    "Text",
    "Name of Coding System",
    "Alternate Identifier",
    "Alternate Text",
    "Name of Alternate Coding System",
)
_CWE = (*_CE, "Coding System Version ID", "Alternate Coding System Version ID", "Original Text")
_PL = (
    "Point of Care",
    "Room",
    "Bed",
    "Facility",
    "Location Status",
    "Person Location Type",
    "Building",
    "Floor",
    "Location Description",
    "Comprehensive Location Identifier",
    "Assigning Authority for Location",
)

#: Component names of the composite data types the fields above use (v2.5.1 chapter 2A).
COMPONENTS: dict[str, tuple[str, ...]] = {
    "AUI": ("Authorization Number", "Date", "Source"),
    "CE": _CE,
    "CNE": _CWE,
    "CP": ("Price", "Price Type", "From Value", "To Value", "Range Units", "Range Type"),
    "CQ": ("Quantity", "Units"),
    "CWE": _CWE,
    "CX": (
        "ID Number",
        "Check Digit",
        "Check Digit Scheme",
        "Assigning Authority",
        "Identifier Type Code",
        "Assigning Facility",
        "Effective Date",
        "Expiration Date",
        "Assigning Jurisdiction",
        "Assigning Agency or Department",
    ),
    "DLD": ("Discharge to Location", "Effective Date"),
    "DLN": ("License Number", "Issuing State, Province, Country", "Expiration Date"),
    "EI": ("Entity Identifier", "Namespace ID", "Universal ID", "Universal ID Type"),
    "EIP": ("Placer Assigned Identifier", "Filler Assigned Identifier"),
    "ELD": ("Segment ID", "Segment Sequence", "Field Position", "Code Identifying Error"),
    "ERL": (
        "Segment ID",
        "Segment Sequence",
        "Field Position",
        "Field Repetition",
        "Component Number",
        "Sub-Component Number",
    ),
    "FC": ("Financial Class Code", "Effective Date"),
    "HD": ("Namespace ID", "Universal ID", "Universal ID Type"),
    "MOC": ("Monetary Amount", "Charge Code"),
    "MSG": ("Message Code", "Trigger Event", "Message Structure"),
    "NDL": (
        "Name",
        "Start Date/Time",
        "End Date/Time",
        "Point of Care",
        "Room",
        "Bed",
        "Facility",
        "Location Status",
        "Patient Location Type",
        "Building",
        "Floor",
    ),
    "PL": _PL,
    "PRL": (
        "Parent Observation Identifier",
        "Parent Observation Sub-identifier",
        "Parent Observation Value Descriptor",
    ),
    "PT": ("Processing ID", "Processing Mode"),
    "RPT": (
        "Repeat Pattern Code",
        "Calendar Alignment",
        "Phase Range Begin Value",
        "Phase Range End Value",
        "Period Quantity",
        "Period Units",
        "Institution Specified Time",
        "Event",
        "Event Offset Quantity",
        "Event Offset Units",
        "General Timing Specification",
    ),
    "SPS": (
        "Specimen Source Name or Code",
        "Additives",
        "Specimen Collection Method",
        "Body Site",
        "Site Modifier",
        "Collection Method Modifier Code",
        "Specimen Role",
    ),
    "TQ": (
        "Quantity",
        "Interval",
        "Duration",
        "Start Date/Time",
        "End Date/Time",
        "Priority",
        "Condition",
        "Text",
        "Conjunction",
        "Order Sequencing",
        "Occurrence Duration",
        "Total Occurrences",
    ),
    "TS": ("Time", "Degree of Precision"),
    "VID": ("Version ID", "Internationalization Code", "International Version ID"),
    "XAD": (
        "Street Address",
        "Other Designation",
        "City",
        "State or Province",
        "Zip or Postal Code",
        "Country",
        "Address Type",
        "Other Geographic Designation",
        "County/Parish Code",
        "Census Tract",
        "Address Representation Code",
        "Address Validity Range",
        "Effective Date",
        "Expiration Date",
    ),
    "XCN": (
        "ID Number",
        "Family Name",
        "Given Name",
        "Second and Further Given Names or Initials Thereof",
        "Suffix",
        "Prefix",
        "Degree",
        "Source Table",
        "Assigning Authority",
        "Name Type Code",
        "Identifier Check Digit",
        "Check Digit Scheme",
        "Identifier Type Code",
        "Assigning Facility",
        "Name Representation Code",
        "Name Context",
        "Name Validity Range",
        "Name Assembly Order",
        "Effective Date",
        "Expiration Date",
        "Professional Suffix",
        "Assigning Jurisdiction",
        "Assigning Agency or Department",
    ),
    "XON": (
        "Organization Name",
        "Organization Name Type Code",
        "ID Number",
        "Check Digit",
        "Check Digit Scheme",
        "Assigning Authority",
        "Identifier Type Code",
        "Assigning Facility",
        "Name Representation Code",
        "Organization Identifier",
    ),
    "XPN": (
        "Family Name",
        "Given Name",
        "Second and Further Given Names or Initials Thereof",
        "Suffix",
        "Prefix",
        "Degree",
        "Name Type Code",
        "Name Representation Code",
        "Name Context",
        "Name Validity Range",
        "Name Assembly Order",
        "Effective Date",
        "Expiration Date",
        "Professional Suffix",
    ),
    "XTN": (
        "Telephone Number",
        "Telecommunication Use Code",
        "Telecommunication Equipment Type",
        "Email Address",
        "Country Code",
        "Area/City Code",
        "Local Number",
        "Extension",
        "Any Text",
        "Extension Prefix",
        "Speed Dial Code",
        "Unformatted Telephone Number",
    ),
}

SITE_DEFINED_SEGMENT = "Site-defined segment"
SITE_DEFINED_FIELD = "Site-defined field"
UNKNOWN_SEGMENT = "Segment not described here"


def segment_name(segment_id: str) -> str:
    """The standard's name of a segment; Z-segments are the site's own."""
    if segment_id in SEGMENT_NAMES:
        return SEGMENT_NAMES[segment_id]
    if segment_id.startswith("Z") and len(segment_id) == 3:
        return SITE_DEFINED_SEGMENT
    return UNKNOWN_SEGMENT


def field_name(segment_id: str, number: int) -> str:
    """The name of ``<segment>-<number>`` (1-based), or a plain label where none is known."""
    table = FIELDS.get(segment_id, ())
    if 1 <= number <= len(table):
        return table[number - 1][0]
    if segment_id.startswith("Z") and len(segment_id) == 3:
        return SITE_DEFINED_FIELD
    return f"Field {number}"


def field_type(segment_id: str, number: int) -> str:
    table = FIELDS.get(segment_id, ())
    if 1 <= number <= len(table):
        return table[number - 1][1]
    return ""


def component_name(data_type: str, number: int) -> str:
    names = COMPONENTS.get(data_type, ())
    if 1 <= number <= len(names):
        return names[number - 1]
    return f"Component {number}"


# --- character sets -------------------------------------------------------------------------

#: MSH-18 values (HL7 table 0211, and the DICOM-style terms some senders use) → Python codecs.
CHARSETS: dict[str, str] = {
    "ASCII": "ascii",
    "ISO IR6": "ascii",
    "8859/1": "latin-1",
    "ISO IR100": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "ISO IR192": "utf-8",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
    "BIG-5": "big5",
    "GB 18030-2000": "gb18030",
    "ISO IR87": "iso2022_jp",
    "KS X 1001": "euc_kr",
}


def codec_for(charset: str) -> str | None:
    """The Python codec for an MSH-18 value; None for empty (ASCII, or whatever the sender
    actually used) and for names neither HL7 nor Python knows."""
    name = charset.strip().upper()
    if not name:
        return None
    if name in CHARSETS:
        return CHARSETS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _msh18_of(raw: bytes) -> str:
    """MSH-18 read from the bytes themselves (every HL7 charset keeps MSH ASCII-compatible)."""
    first = re.split(rb"[\r\n]", raw.lstrip(), maxsplit=1)[0]
    if not first.startswith(b"MSH") or len(first) < 4:
        return ""
    parts = first.split(first[3:4])
    # parts[0] is "MSH", parts[1] MSH-2, so MSH-n is parts[n - 1].
    return parts[17].decode("ascii", "replace").strip() if len(parts) > 17 else ""


@dataclass(frozen=True)
class Decoded:
    text: str
    #: The codec the text was read with; an edited copy is written back with the same one.
    codec: str
    problem: str = ""


def decode(raw: bytes, charset: str = "") -> Decoded:
    """The message's text in the character set it declares (``charset``, else MSH-18).

    Never fails: bytes the declared set cannot hold are replaced (and said so). A message
    that declares nothing should be ASCII; one that is not is read as UTF-8 if it is valid
    UTF-8, else as Latin-1, which is what such senders usually mean.
    """
    declared = charset.strip() or _msh18_of(raw)
    codec = codec_for(declared)
    if codec is not None and codec != "ascii":
        try:
            return Decoded(raw.decode(codec), codec)
        except UnicodeDecodeError:
            return Decoded(
                raw.decode(codec, "replace"),
                codec,
                f"Some bytes are not valid {declared}; they are shown as \ufffd.",
            )
    # ASCII declared, nothing declared, or a name nobody knows.
    note = f"MSH-18 {declared!r} is not a character set RadFlow knows. " if codec is None else ""
    if not declared:
        note = ""
    try:
        return Decoded(raw.decode("ascii"), "ascii", note.strip())
    except UnicodeDecodeError:
        pass
    said = f"MSH-18 says {declared}" if declared else "MSH-18 is empty (ASCII)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Decoded(
            raw.decode("latin-1"),
            "latin-1",
            f"{note}{said}, but the message holds other bytes; read as Latin-1.",
        )
    return Decoded(text, "utf-8", f"{note}{said}, but the message is UTF-8; read as UTF-8.")


# --- splitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


DEFAULT_SEPARATORS = Separators()


def separators_of(text: str) -> tuple[Separators, str]:
    """MSH-1 and MSH-2 of the first segment; the defaults (and why) where they are missing."""
    if not text.startswith("MSH") or len(text) < 4:
        return DEFAULT_SEPARATORS, "The message does not begin with MSH; read with | ^ ~ \\ &."
    field_sep = text[3]
    if field_sep.isalnum() or field_sep in "\r\n":
        return DEFAULT_SEPARATORS, f"MSH-1 {field_sep!r} cannot be a separator; read with |."
    msh2 = text[4:].split(field_sep, 1)[0].split("\r", 1)[0].split("\n", 1)[0]
    defaults = ("^", "~", "\\", "&")
    chosen = [msh2[i] if i < len(msh2) else defaults[i] for i in range(4)]
    problem = ""
    if len(msh2) < 4:
        problem = f"MSH-2 {msh2!r} is short; the missing encoding characters are taken as ^~\\&."
    return Separators(field_sep, chosen[0], chosen[1], chosen[2], chosen[3]), problem


def unescape(value: str, seps: Separators) -> str:
    """The text behind HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\.br\\);
    any other sequence is left as written, since its meaning is the sender's."""
    esc = seps.escape
    if not esc or esc not in value:
        return value
    table = {
        "F": seps.field,
        "S": seps.component,
        "T": seps.subcomponent,
        "R": seps.repetition,
        "E": esc,
        ".br": "\n",
    }
    pattern = re.compile(re.escape(esc) + r"(F|S|T|R|E|\.br)" + re.escape(esc))
    return pattern.sub(lambda m: table[m.group(1)], value)


@dataclass(frozen=True)
class Component:
    number: int
    name: str
    value: str
    subcomponents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repeat:
    number: int
    value: str
    components: tuple[Component, ...] = ()


@dataclass(frozen=True)
class Field:
    number: int
    name: str
    data_type: str
    #: The field as written (escape sequences decoded), repeats and components included.
    value: str
    repeats: tuple[Repeat, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.value == ""

    @property
    def has_parts(self) -> bool:
        """Repeats or components worth listing under the value."""
        return len(self.repeats) > 1 or any(len(r.components) > 1 for r in self.repeats)


@dataclass(frozen=True)
class Segment:
    position: int
    segment_id: str
    name: str
    fields: tuple[Field, ...]
    text: str

    @property
    def known(self) -> bool:
        return self.segment_id in SEGMENT_NAMES

    @property
    def present_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.is_empty)


@dataclass(frozen=True)
class SplitMessage:
    segments: tuple[Segment, ...]
    separators: Separators
    codec: str
    problems: tuple[str, ...] = field(default=())

    def segment(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.segment_id == segment_id), None)

    def value(self, segment_id: str, number: int) -> str:
        """The first ``<segment>-<number>`` as written ("" when absent)."""
        seg = self.segment(segment_id)
        if seg is None or number > len(seg.fields):
            return ""
        return seg.fields[number - 1].value


def _components(text: str, data_type: str, seps: Separators) -> tuple[Component, ...]:
    parts = text.split(seps.component) if seps.component else [text]
    if len(parts) == 1 and seps.subcomponent not in text:
        return (Component(1, component_name(data_type, 1), unescape(text, seps)),)
    out: list[Component] = []
    for i, part in enumerate(parts, start=1):
        subs = part.split(seps.subcomponent) if seps.subcomponent in part else []
        out.append(
            Component(
                i,
                component_name(data_type, i),
                unescape(part, seps),
                tuple(unescape(s, seps) for s in subs),
            )
        )
    return tuple(out)


def _field(segment_id: str, number: int, text: str, data_type: str, seps: Separators) -> Field:
    name = field_name(segment_id, number)
    data_type = data_type or field_type(segment_id, number)
    if segment_id == "MSH" and number in (1, 2):
        # The separators themselves: never split, never unescaped.
        return Field(number, name, data_type, text, (Repeat(1, text),))
    pieces = text.split(seps.repetition) if seps.repetition else [text]
    repeats = tuple(
        Repeat(i, unescape(piece, seps), _components(piece, data_type, seps))
        for i, piece in enumerate(pieces, start=1)
    )
    return Field(number, name, data_type, unescape(text, seps), repeats)


def _segment(position: int, text: str, seps: Separators) -> Segment:
    raw_fields = text.split(seps.field)
    segment_id = raw_fields[0].strip()
    # MSH-1 is the field separator itself, so MSH-n is the (n-1)th piece.
    values = [seps.field, *raw_fields[1:]] if segment_id == "MSH" else raw_fields[1:]
    fields: list[Field] = []
    obx_value_type = ""
    for number, value in enumerate(values, start=1):
        data_type = ""
        if segment_id == "OBX" and number == 2:
            obx_value_type = value.strip().upper()
        if segment_id == "OBX" and number == 5:
            data_type = obx_value_type if obx_value_type in COMPONENTS else "*"
        fields.append(_field(segment_id, number, value, data_type, seps))
    return Segment(position, segment_id, segment_name(segment_id), tuple(fields), text)


def segment_lines(text: str) -> list[str]:
    """The segments of a message's text: CR, CRLF or LF between them, blank lines dropped."""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


def split_message(raw: bytes, charset: str = "") -> SplitMessage:
    """Every segment, field, repeat and component of ``raw``, named; never raises."""
    decoded = decode(raw, charset)
    text = decoded.text.lstrip("\x0b").rstrip("\x1c\r\n")
    problems: list[str] = [decoded.problem] if decoded.problem else []
    seps, problem = separators_of(text.lstrip())
    if problem:
        problems.append(problem)
    if "\n" in text and "\r" not in text:
        problems.append("Segments are separated by LF, not CR as HL7 requires.")
    segments = tuple(
        _segment(position, line, seps)
        for position, line in enumerate(segment_lines(text.lstrip()), start=1)
    )
    if not segments:
        problems.append("The message is empty.")
    return SplitMessage(segments, seps, decoded.codec, tuple(problems))


# --- editing ----------------------------------------------------------------------------------


def text_for_editing(raw: bytes, charset: str = "") -> tuple[str, str]:
    """(one segment per line, the codec to write it back with)."""
    decoded = decode(raw, charset)
    return "\n".join(segment_lines(decoded.text.strip("\x0b\x1c"))), decoded.codec


def raw_from_edited(text: str, codec: str) -> bytes:
    """A person's edited text as HL7 bytes: each segment ended by CR, encoded with ``codec``
    (the one the original was read with), or with the character set an edited MSH-18 names.
    Refuses an empty message, one that does not begin with MSH, and characters the character
    set cannot hold, rather than send something the receiver would read differently."""
    lines = segment_lines(text)
    if not lines:
        raise ValidationFailed({"raw": ["The message is empty."]})
    if not lines[0].startswith("MSH"):
        raise ValidationFailed({"raw": ["The first segment must be MSH."]})
    declared = codec_for(_msh18_of(lines[0].encode("utf-8", "replace")))
    if declared is not None and declared != "ascii":
        codec = declared
    codec = codec or "utf-8"
    joined = "\r".join(lines) + "\r"
    try:
        return joined.encode(codec)
    except UnicodeEncodeError as exc:
        bad = joined[exc.start : exc.end]
        raise ValidationFailed(
            {
                "raw": [
                    f"{bad!r} cannot be written in {codec}, the message's character set; "
                    "name another in MSH-18 (e.g. UNICODE UTF-8) or change the text."
                ]
            }
        ) from exc
    except LookupError as exc:
        raise ValidationFailed({"raw": [f"Unknown character set {codec!r}."]}) from exc
