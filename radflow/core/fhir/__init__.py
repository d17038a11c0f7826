"""FHIR R4 mapping rules without Django: status maps, search-parameter parsing, paging links,
OperationOutcome and the CapabilityStatement's table. ``radflow.interfaces.fhir`` is the Django
side that reads the models and calls the services."""
