"""The one error the analysis raises for input it cannot use."""


class AnalysisError(ValueError):
    """Input the analysis cannot use; the message says why, in words a user understands."""
