"""What the server tells operators: access logs, health, (later) traces and metrics."""
