"""The in-account model monitor: a scheduled container-image function that runs Evidently on
the endpoint's data capture against the served model's training rows (``construct``), and its
analyzer (``runtime``)."""
