"""Private networking: the VPC, its endpoints and security groups (issue 13)."""
