"""The FHIR R4 REST facade at ``/fhir/R4/`` (issue 7): a second NinjaAPI whose handlers parse
FHIR with ``fhir.resources`` (R4B models, R4 wire format), authorise like the JSON API, call the
same selectors and services as the pages and answer ``application/fhir+json``."""
