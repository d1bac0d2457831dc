"""A citizen's request for access (GDPR article 15, "indsigt"): everything fasthold holds on
them, found by CPR number, for the municipality to hand over."""
