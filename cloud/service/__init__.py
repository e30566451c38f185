"""The Vigil cloud service: API, MQTT ingest, alerts, clips, training jobs, model registry."""
