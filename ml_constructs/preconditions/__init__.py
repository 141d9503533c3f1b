"""AWS's deploy-time preconditions as a cdk-nag pack (``DeployPreconditionChecks``): what
moto accepts and AWS refuses, found on every synth. ``requirements`` holds what AWS requires
(constructs grant from it), ``rules`` one rule per file, ``template_view`` the templates as
the rules read them."""
