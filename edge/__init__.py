"""The Vigil edge agent: a camera in, action events out, with nothing but the edge extra.

One module per pipeline stage (see `edge.agent` for how they are wired):
capture -> inference (+ clips) -> decisions (events) -> outbox -> sender (transport),
with heartbeat, control (commands, model updates) and updater beside them.
"""
