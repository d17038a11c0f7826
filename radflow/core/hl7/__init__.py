"""HL7 v2 without Django: reading inbound messages strictly (``parse``) and mapping them to
RadFlow's terms (``inbound``), answering them (``ack``), building outbound messages
(``outbound``), MLLP sending (``mllp_client``) and the console's tolerant field-by-field reading
(``fields``).

The interfaces app stores, applies and sends what these modules read and build; nothing here
touches a database, so the mappings are tested and benchmarked alone.
"""
