"""The rigs the tests and the benchmarks share, imported as `tests.kit.<module>`.

- `outcomes`: how a rig ends a test (a bounded wait that fails it, a skip for what is missing);
- `processes`, `postgres`, `mosquitto`: a process stopped for good, a throw-away
  PostgreSQL database, a private Mosquitto;
- `service`, `factories`: `vigil serve` in a thread, and the devices, events, clips and
  viewers the cloud tests make;
- `security`, `api_fuzz`, `mqtt_fuzz`: the service with its callers, and the fuzzers;
- `edge`: the colour-steered ONNX student, colour videos, a recording cloud, MQTT recording;
- `deploy`: the shipped Mosquitto config and ACL in a real broker;
- `faults`, `fault_scenarios`: the fault-injection processes and scenarios;
- `browser`: the dashboard under test, for Playwright.
"""
