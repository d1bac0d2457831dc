"""JSON API handlers, one module per area, and the OpenAPI document."""
