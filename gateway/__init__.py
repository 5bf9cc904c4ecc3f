"""The site gateway: ingest, durable storage, normalisation, plugins and MQTT upstream."""
