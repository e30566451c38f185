"""What happened after an alert: the answer a carer gives when acknowledging it, and the
labelled example it makes of the fall's clip.

The edge uploads a low-resolution clip of every confirmed fall (reason `alert`, the same
privacy rules as unsure clips). "Real fall" labels it with the alert's fall label, "not a
fall" with a label that is not a fall: `not_fall` where the model has one (the fall /
not-fall students), else the clip's most likely label that is not a fall (the model's
own best guess of what the person did; the labelling view can correct it). Either way
the clip joins the next training job as a labelled example: a real fall from the site,
or a hard negative. The other answers (got up unaided, staff in the room, other) label
nothing: they say what happened after, not what the video shows. Whichever comes last,
the answer or the clip, labels it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.clips import allowed_labels, label_clip
from cloud.service.db.tables import Alert, Clip
from cloud.service.schemas import Outcome
from shared.datasets.fall_labels import NOT_FALL
from shared.labels import is_fall_label
from shared.messages import ClipReason


def outcome_label(alert: Alert, clip: Clip, allowed: set[str]) -> str | None:
    """The label the alert's answer gives its clip; None when it gives none."""
    if alert.outcome == Outcome.REAL_FALL:
        if alert.action in allowed:
            return alert.action
        return next((name for name in sorted(allowed) if is_fall_label(name)), None)
    if alert.outcome == Outcome.NOT_A_FALL:
        if NOT_FALL in allowed:
            return NOT_FALL
        others = {k: v for k, v in clip.probabilities.items() if not is_fall_label(k)}
        best = max(others, key=lambda k: others[k], default=None)
        return best if best in allowed else None
    return None


def label_from_answer(
    session: Session, alert: Alert, clip: Clip, production: list[str] | None, now: datetime
) -> bool:
    """Label `clip` from `alert`'s answer, if the answer gives a label; whether it did."""
    allowed = allowed_labels(clip, production)
    label = outcome_label(alert, clip, allowed)
    if label is None:
        return False
    who = f"{alert.acknowledged_by or 'someone'} (answer to alert {alert.id})"[:200]
    label_clip(session, clip, label, who, now, allowed)
    return True


def clips_of_alert(session: Session, alert: Alert) -> list[Clip]:
    """The fall clips the alert's device uploaded around its start."""
    query = select(Clip).where(
        Clip.device_id == alert.device_id,
        Clip.reason == ClipReason.ALERT.value,
        Clip.started_at <= alert.started_at,
        Clip.ended_at >= alert.started_at,
    )
    return list(session.scalars(query))


def alert_of_clip(session: Session, clip: Clip) -> Alert | None:
    """The answered alert a fall clip shows (its start inside the clip), if any."""
    query = (
        select(Alert)
        .where(
            Alert.device_id == clip.device_id,
            Alert.started_at >= clip.started_at,
            Alert.started_at <= clip.ended_at,
            Alert.outcome.is_not(None),
        )
        .order_by(Alert.started_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def label_alert_clips(
    session: Session, alert: Alert, production: list[str] | None, now: datetime
) -> int:
    """Label the clips of an alert just answered; how many."""
    return sum(
        label_from_answer(session, alert, c, production, now)
        for c in clips_of_alert(session, alert)
    )


def label_new_clip(
    session: Session, clip: Clip, production: list[str] | None, now: datetime
) -> bool:
    """A fall clip that arrived after its alert was answered: label it now."""
    if clip.reason != ClipReason.ALERT.value or clip.label is not None:
        return False
    alert = alert_of_clip(session, clip)
    return alert is not None and label_from_answer(session, alert, clip, production, now)
