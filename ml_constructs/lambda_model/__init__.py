"""A model served inside AWS Lambda with onnxruntime (issue 21); ``runtime/`` is the function."""
