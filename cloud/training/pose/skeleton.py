"""MediaPipe Pose's 33 landmarks: names, the joints the classifier reads, left/right pairs.

Landmark order from MediaPipe's pose landmarker model card
(https://ai.google.dev/edge/mediapipe/solutions/vision/pose_landmarker#pose_landmarker_model).
"""

from __future__ import annotations

NUM_LANDMARKS = 33

NOSE = 0
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_HIP, RIGHT_HIP = 23, 24

# Face points, fingers and toes add little about the body's posture and are the first
# to be lost at a distance: the classifier reads 13 body joints.
BODY_JOINTS: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

# Left <-> right pairs of all 33 landmarks (eyes, ears, mouth corners, limbs).
_PAIRS = (
    (1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18),
    (19, 20), (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32),
)  # fmt: skip


def mirror_order() -> list[int]:
    """Index permutation that swaps every left landmark with its right twin."""
    order = list(range(NUM_LANDMARKS))
    for left, right in _PAIRS:
        order[left], order[right] = right, left
    return order


MIRROR_ORDER: tuple[int, ...] = tuple(mirror_order())
