"""The pose teacher: MediaPipe landmarks from full-resolution video, a skeleton classifier.

Cloud only; the edge never runs it. `extract` turns a video into a landmark track
(cached on disk), `features` turns a window of a track into the classifier's input,
`model` is the classifier.
"""
