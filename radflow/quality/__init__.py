"""Quality program: image audits, peer review, incidents (CAPA), complaints, satisfaction."""
