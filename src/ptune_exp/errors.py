"""The one exception type users see: a message that says what is wrong and what to do."""


class PtuneError(Exception):
    """Bad input or an unsupported combination, reported before (or instead of) training."""


class TrainingDiverged(PtuneError):
    """The loss became NaN or infinite; the run is recorded as failed."""
