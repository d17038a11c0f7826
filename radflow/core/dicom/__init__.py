"""DICOM mapping and matching rules (pydicom datasets in and out, no Django)."""
