"""Board ingest: TCP server, per-connection deframing/authentication/ACKs, plugin inputs.

Import the pieces from their modules (``gateway.ingest.server.IngestServer`` ...); this package
file stays empty so importing one part does not import the rest.
"""
