"""Code that runs inside SageMaker: training script, inference handlers and their tools.

This package never imports ``aws_cdk``; importing it does not import TensorFlow either
(TensorFlow is imported lazily by the modules that need it).
"""

__all__: list[str] = []
