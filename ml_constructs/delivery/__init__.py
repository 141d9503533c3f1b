"""The delivery pipeline's constructs (CDK Pipelines): its encrypted artifact store, the pipeline
with its synth step, and each environment's deploy steps and gates."""
