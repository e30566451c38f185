"""Everything that trains, evaluates and exports a model (torch, MediaPipe)."""
