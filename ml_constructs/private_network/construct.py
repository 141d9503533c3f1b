"""Private networking: a VPC that reaches AWS only through VPC endpoints, and the security
groups of everything that runs in it.

``create`` makes the VPC (private isolated subnets in two or more zones: no NAT, no internet
gateway; flow logs to a log group encrypted with the project key); ``import`` takes an existing
one from explicit ids (no lookups at synth). Either way the construct adds the endpoints that
the stack's code and SageMaker need from inside (``INTERFACE_ENDPOINTS``, the S3 gateway
endpoint), each with a policy that admits only this account's principals (S3: only this
project's bucket and ECR's layer bucket), and security groups: the endpoints admit HTTPS from
the groups of the stack's functions and SageMaker resources only; those may send HTTPS only to
the endpoints and to S3 (its region's managed prefix list, looked up at deploy time); no rule
names 0.0.0.0/0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_constructs.checkov import skip
from ml_constructs.findings import (
    acknowledge_function,
    acknowledge_inline_policy,
    skip_generated_handler,
)
from ml_constructs.functions import depend_on_role_policy_only
from ml_constructs.nag import acknowledge, nag_logical_id
from ml_constructs.naming import role_name, validate_prefix
from ml_constructs.preconditions.requirements import (
    LAMBDA_VPC_ACTIONS,
    SAGEMAKER_VPC_ACTIONS,
)

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HTTPS = ec2.Port.tcp(443)
LOG_RETENTION = {
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

#: Interface endpoints, and who calls the service from inside the VPC. Derived from what the
#: code calls (tests/aws_operations.py: a test checks that every service a function in the
#: VPC calls is here) and from what SageMaker's endpoint and jobs need there. SQS and
#: EventBridge are not called from inside: Lambda polls the queues and EventBridge delivers
#: from outside the VPC.
INTERFACE_ENDPOINTS: dict[str, str] = {
    "sagemaker.runtime": "the inference function: InvokeEndpoint",
    "sagemaker.api": "the promotion and retraining functions: models, configs, the endpoint, jobs",
    "ssm": "the promotion function: the model parameter",
    "sns": "the promotion, retraining and model monitor functions: reports on the alarm topic",
    "xray": "the inference function's active tracing",
    "ecr.api": "SageMaker's endpoint and jobs: image pulls (authorization)",
    "ecr.dkr": "SageMaker's endpoint and jobs: image pulls (the registry)",
    "logs": "SageMaker's endpoint and jobs: container logs",
    "monitoring": "the model monitor (its function, or Model Monitor's jobs): CloudWatch metrics",
    "kms": "SageMaker's endpoint and jobs: the project key",
    "sts": "SageMaker's containers: AWS SDK credentials",
}
#: Services reached through the S3 gateway endpoint rather than an interface endpoint.
GATEWAY_ENDPOINTS = ("s3",)


@dataclass(frozen=True)
class ImportedSubnet:
    """A private subnet of an imported VPC, its availability zone, and its route table (the
    S3 gateway endpoint is attached to it)."""

    subnet_id: str
    availability_zone: str
    route_table_id: str = ""


@dataclass(frozen=True)
class PrivateNetworkProps:
    """``create`` a VPC (``cidr``, ``availability_zones``, ``flow_log_retention_days``) or
    ``import`` one (``vpc_id``, ``subnets``, ``create_endpoints``); the key for flow logs, the
    artifact bucket that S3 traffic may reach, and whether the REST API is private (an
    execute-api endpoint)."""

    prefix: str
    mode: Literal["create", "import"]
    encryption_key: kms.IKey
    bucket_arn: str
    cidr: str = "10.20.0.0/16"
    availability_zones: int = 2
    flow_log_retention_days: int = 365
    vpc_id: str = ""
    subnets: tuple[ImportedSubnet, ...] = ()
    #: Groups added to the SageMaker resources' own group.
    security_group_ids: tuple[str, ...] = ()
    #: False: the imported VPC has the endpoints already (with private DNS).
    create_endpoints: bool = True
    private_api: bool = False
    #: Interface endpoints beyond INTERFACE_ENDPOINTS (service -> who calls it from inside):
    #: what the hosting variant's promotions call (a Lambda-hosted model: lambda, codedeploy).
    extra_endpoints: tuple[tuple[str, str], ...] = ()
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    #: Objects of other accounts' buckets that code in the VPC reads (the promotion's source
    #: artifacts, ``registry.source_bucket``): the S3 gateway endpoint must let them through.
    external_reads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if self.mode not in ("create", "import"):
            problems.append(f"mode {self.mode!r}: the construct is for 'create' or 'import'")
        if self.mode == "create" and self.flow_log_retention_days not in LOG_RETENTION:
            problems.append(
                f"flow_log_retention_days {self.flow_log_retention_days} is not one of "
                f"{', '.join(map(str, LOG_RETENTION))}"
            )
        if self.mode == "create" and self.availability_zones < 2:
            problems.append(f"availability_zones {self.availability_zones}: SageMaker needs 2")
        if self.mode == "import" and not self.vpc_id:
            problems.append("vpc_id: 'import' needs the VPC's id")
        if self.mode == "import" and len({s.availability_zone for s in self.subnets}) < 2:
            problems.append("subnets: 'import' needs subnets in at least two zones")
        if self.mode == "import" and self.create_endpoints:
            problems += [
                f"subnets[{i}].route_table_id: the S3 gateway endpoint needs it"
                for i, subnet in enumerate(self.subnets)
                if not subnet.route_table_id
            ]
        if problems:
            raise ValueError("; ".join(problems))


class PrivateNetwork(Construct):
    """``vpc``, ``subnets``, ``subnet_ids``; ``sagemaker_security_group_ids`` for the endpoint,
    training and monitoring jobs; ``client_security_group()`` for a function;
    ``execute_api_endpoint`` when the API is private."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PrivateNetworkProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        if props.mode == "create":
            self.vpc: ec2.IVpc = self._create_vpc()
        else:
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=props.vpc_id,
                availability_zones=[s.availability_zone for s in props.subnets],
                isolated_subnet_ids=[s.subnet_id for s in props.subnets],
                isolated_subnet_route_table_ids=[s.route_table_id for s in props.subnets]
                if props.create_endpoints
                else None,
            )
        self.subnets = ec2.SubnetSelection(subnets=self.vpc.isolated_subnets)
        self.subnet_ids = [s.subnet_id for s in self.vpc.isolated_subnets]
        self.s3_prefix_list_id = self._s3_prefix_list()
        self.endpoints_security_group = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=self.vpc,
            description=f"{props.prefix}: VPC endpoints, HTTPS from the stack groups only",
            allow_all_outbound=False,
        )
        self.sagemaker_security_group = self.client_security_group(
            self, "SageMakerSecurityGroup", "the SageMaker endpoint, training and monitoring jobs"
        )
        # No rule between its members: endpoint instances do not talk to each other and the
        # stack's jobs run on one instance (a multi-instance job would need one).
        self.sagemaker_security_group_ids = [
            self.sagemaker_security_group.security_group_id,
            *props.security_group_ids,
        ]
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        self.execute_api_endpoint: ec2.InterfaceVpcEndpoint | None = None
        if props.create_endpoints:
            self._endpoints()

    # -- the VPC ------------------------------------------------------------------------------

    def _create_vpc(self) -> ec2.Vpc:
        props = self.props
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(props.cidr),
            max_azs=props.availability_zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            restrict_default_security_group=True,
            # Names, not construct paths (CDK's default), so that a pipeline stage synthesizes
            # the same template as the plain app.
            vpc_name=f"{props.prefix}-vpc",
        )
        for index, subnet in enumerate(vpc.isolated_subnets, start=1):
            Tags.of(subnet).add("Name", f"{props.prefix}-private-{index}", priority=101)
        skip_generated_handler(
            self,
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "CDK's generated handler that removes the default security group's rules, invoked "
            "synchronously by CloudFormation at create and update: no DLQ, VPC or reserved "
            "concurrency applies.",
        )
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=LOG_RETENTION[props.flow_log_retention_days],
            encryption_key=props.encryption_key,
            removal_policy=props.removal_policy,
        )
        role = iam.Role(
            self,
            "FlowLogsRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            description="VPC flow logs to their encrypted log group",
        )
        ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group, role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            flow_log_name=f"{props.prefix}-vpc",
        )
        acknowledge_inline_policy(role)
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "VPC flow logs create their log streams (one per network interface) in this log "
            "group only.",
            [f"Resource::<{nag_logical_id(log_group)}.Arn>:*"],
        )
        return vpc

    def _s3_prefix_list(self) -> str:
        """The region's S3 prefix list id, looked up at deploy time by a small function (no
        CloudFormation attribute returns it). The function runs outside the VPC: it must reach
        the EC2 API and CloudFormation's response URL before the VPC's rules exist."""
        role = iam.Role(
            self,
            "PrefixListLookupRole",
            role_name=role_name(self.props.prefix, "prefix-list-lookup"),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Looks up the region's S3 prefix list id at deploy time",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeManagedPrefixLists",
                actions=["ec2:DescribeManagedPrefixLists"],
                resources=["*"],
            )
        )
        log_group = logs.LogGroup(
            self,
            "PrefixListLookupLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=self.props.encryption_key,
            removal_policy=self.props.removal_policy,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            "PrefixListLookup",
            description="CloudFormation custom resource: the S3 prefix list id of the region",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="prefix_list.lambda_handler",
            code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=["__pycache__", "*.pyc"]),
            timeout=Duration.seconds(60),
            memory_size=128,
            role=role,
            log_group=log_group,
        )
        depend_on_role_policy_only(function, role)
        reason = (
            "A CloudFormation custom resource run once per deploy, outside the VPC by design "
            "(it reads a public AWS list and answers CloudFormation's response URL); "
            "CloudFormation invokes it synchronously and reports its failure."
        )
        acknowledge_function(function, dead_letters=reason, concurrency=reason)
        acknowledge(function, "NIST.800.53.R5-LambdaInsideVPC", reason)
        skip(function, "CKV_AWS_117", reason)
        acknowledge_inline_policy(role)
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "ec2:DescribeManagedPrefixLists supports no resource-level permissions; the "
            "function's log streams are named at run time in its own log group.",
            [
                "Resource::*",
                f"Resource::<{nag_logical_id(log_group)}.Arn>:*",
            ],
        )
        lookup = CustomResource(
            self,
            "S3PrefixList",
            service_token=function.function_arn,
            resource_type="Custom::S3PrefixList",
            properties={"PrefixListName": f"com.amazonaws.{Aws.REGION}.s3"},
        )
        return lookup.get_att_string("PrefixListId")

    # -- endpoints -------------------------------------------------------------------------------

    def _endpoint_policy(self) -> list[iam.PolicyStatement]:
        """Only this account's principals use the endpoints."""
        return [
            iam.PolicyStatement(
                sid="ThisAccountsPrincipalsOnly",
                # In an interface endpoint's policy the account principal means every user and
                # role of the account (in a gateway endpoint's, only the root user).
                principals=[iam.AccountRootPrincipal()],
                actions=["*"],
                resources=["*"],
            )
        ]

    def _endpoints(self) -> None:
        vpc, props = self.vpc, self.props
        gateway = vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        gateway.add_to_policy(
            iam.PolicyStatement(
                sid="ThisProjectsBucket",
                principals=[iam.AnyPrincipal()],
                actions=["s3:*"],
                resources=[props.bucket_arn, f"{props.bucket_arn}/*"],
                conditions={"StringEquals": {"aws:PrincipalAccount": Aws.ACCOUNT_ID}},
            )
        )
        if props.external_reads:
            gateway.add_to_policy(
                iam.PolicyStatement(
                    sid="OtherAccountsArtifacts",
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=list(props.external_reads),
                    conditions={"StringEquals": {"aws:PrincipalAccount": Aws.ACCOUNT_ID}},
                )
            )
        # ECR serves image layers from its own bucket through presigned URLs, so the request's
        # principal is not this account's: no condition on it (AWS's "Minimum Amazon S3
        # bucket permissions for Amazon ECR" statement has none).
        gateway.add_to_policy(
            iam.PolicyStatement(
                sid="EcrImageLayers",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::prod-{Aws.REGION}-starport-layer-bucket/*"],
            )
        )
        names = {**INTERFACE_ENDPOINTS, **dict(props.extra_endpoints)}
        if props.private_api:
            names["execute-api"] = "clients of the private REST API"
        for name in names:
            endpoint = vpc.add_interface_endpoint(
                _endpoint_id(name),
                service=ec2.InterfaceVpcEndpointAwsService(name),
                subnets=self.subnets,
                private_dns_enabled=True,
                security_groups=[self.endpoints_security_group],
                open=False,
            )
            for statement in self._endpoint_policy():
                endpoint.add_to_policy(statement)
            self.interface_endpoints[name] = endpoint
        self.execute_api_endpoint = self.interface_endpoints.get("execute-api")

    # -- groups -------------------------------------------------------------------------------

    def client_security_group(
        self, scope: Construct, construct_id: str, what: str
    ) -> ec2.SecurityGroup:
        """A group for ``what``: HTTPS out to the endpoints and to S3 only; the endpoints
        admit it."""
        group = ec2.SecurityGroup(
            scope,
            construct_id,
            vpc=self.vpc,
            description=f"{self.props.prefix}: {what}",
            allow_all_outbound=False,
        )
        group.add_egress_rule(
            ec2.Peer.prefix_list(self.s3_prefix_list_id), HTTPS, "S3 (gateway endpoint)"
        )
        # Both rules between the groups are written out with fixed ids (add_egress_rule would
        # name the rule after the peer's construct path, which differs in a pipeline stage);
        # they live beside the group (in its stack), so a later stack's group never makes the
        # network's stack depend on it.
        ec2.CfnSecurityGroupEgress(
            scope,
            f"{construct_id}EndpointsEgress",
            group_id=group.security_group_id,
            destination_security_group_id=self.endpoints_security_group.security_group_id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="AWS APIs (VPC endpoints)",
        )
        ec2.CfnSecurityGroupIngress(
            scope,
            f"{construct_id}EndpointsIngress",
            group_id=self.endpoints_security_group.security_group_id,
            source_security_group_id=group.security_group_id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"HTTPS from {what}",
        )
        return group


def _endpoint_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", ".").split("."))


VPC_ACCESS_REASON = (
    "SageMaker creates and deletes the network interfaces of a model or job in the VPC with "
    "its role: the EC2 Describe actions support no resource-level permissions, and SageMaker's "
    "validation at job creation fails when the interface actions are scoped or conditioned."
)
LAMBDA_VPC_ACCESS_REASON = (
    "Lambda attaches the function to the VPC's subnets with its execution role (the actions of "
    "AWSLambdaVPCAccessExecutionRole, granted here because the role is this app's own): "
    "DescribeNetworkInterfaces and DescribeSubnets support no resource-level permissions, and "
    "Lambda checks CreateNetworkInterface on '*' when it creates the function."
)


def grant_vpc_access(role: iam.Role) -> None:
    """Let SageMaker place ``role``'s model or jobs in the VPC. Unconditioned, on '*': "Don't
    scope in the policy with any conditions or resource filters. Otherwise, the validation
    checks that occur during the creation of the processing job fail" ("How to use SageMaker
    AI execution roles", CreateProcessingJob)."""
    role.add_to_policy(
        iam.PolicyStatement(
            sid="NetworkInterfacesInTheVpc", actions=list(SAGEMAKER_VPC_ACTIONS), resources=["*"]
        )
    )
    policy = role.node.find_child("DefaultPolicy")
    skip(policy, "CKV_AWS_111", VPC_ACCESS_REASON)  # write access without constraints
    skip(policy, "CKV_AWS_109", VPC_ACCESS_REASON)  # the interface permission actions


@dataclass(frozen=True)
class FunctionPlacement:
    """Where a Lambda function runs: ``vpc``, ``subnets`` and ``security_groups`` for
    ``lambda_.Function`` (all None without private networking)."""

    vpc: ec2.IVpc | None = None
    subnets: ec2.SubnetSelection | None = None
    security_groups: list[ec2.ISecurityGroup] | None = None


def function_placement(
    network: PrivateNetwork | None, scope: Construct, what: str, role: iam.Role
) -> FunctionPlacement:
    """The private subnets and a group of the function's own, and the permissions Lambda needs
    on ``role`` to attach it there (nothing without a network). The function must depend on
    the role's default policy (``depend_on_role_policy_only``): Lambda checks them at create."""
    if network is None:
        return FunctionPlacement()
    grant_lambda_vpc_access(role)
    acknowledge_imported_endpoints(network, scope)
    group = network.client_security_group(scope, "SecurityGroup", what)
    return FunctionPlacement(network.vpc, network.subnets, [group])


IMPORTED_ENDPOINTS = (
    "network.create_endpoints is false: the imported VPC's own endpoints (with private DNS) "
    "serve these calls; README, 'Private networking', lists the services called from inside."
)


def acknowledge_imported_endpoints(network: PrivateNetwork | None, scope: Construct) -> None:
    """Where the imported VPC brings its own endpoints, the pack cannot see them: acknowledge
    its ``NoEndpoint`` findings on ``scope``, for the services this stack needs there only (a
    call to any other service still fails the synth)."""
    if network is None or network.props.create_endpoints:
        return
    services = (*INTERFACE_ENDPOINTS, *dict(network.props.extra_endpoints), *GATEWAY_ENDPOINTS)
    acknowledge(
        scope,
        "DeployPreconditions-VpcCallsHaveEndpoints",
        IMPORTED_ENDPOINTS,
        [f"NoEndpoint::{service}" for service in services],
    )


def grant_lambda_vpc_access(role: iam.Role) -> None:
    """What Lambda needs on a function's own role to run it in the VPC (CDK attaches
    AWSLambdaVPCAccessExecutionRole only to roles it creates itself)."""
    role.add_to_policy(
        iam.PolicyStatement(
            sid="AttachTheFunctionToTheVpc", actions=list(LAMBDA_VPC_ACTIONS), resources=["*"]
        )
    )
    policy = role.node.find_child("DefaultPolicy")
    acknowledge(policy, "AwsSolutions-IAM5", LAMBDA_VPC_ACCESS_REASON, ["Resource::*"])
    skip(policy, "CKV_AWS_111", LAMBDA_VPC_ACCESS_REASON)


def sagemaker_vpc_config(network: PrivateNetwork | None) -> dict[str, list[str]] | None:
    """``VpcConfig`` in SageMaker's API shape (CreateModel, CreateTrainingJob), or None."""
    if network is None:
        return None
    return {
        "SecurityGroupIds": list(network.sagemaker_security_group_ids),
        "Subnets": list(network.subnet_ids),
    }
