"""The people who plan and hold the meetings: what the service knows about consultants that
several areas ask (their caseload)."""
