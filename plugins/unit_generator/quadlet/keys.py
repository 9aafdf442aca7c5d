"""Quadlet file types, their groups and the keys each group accepts."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

UNIT = "Unit"
SERVICE = "Service"
INSTALL = "Install"
QUADLET = "Quadlet"

# Extension -> (group name, suffix of the generated service name, processing order: a unit
# is converted after the ones it can refer to).
_TYPES = {
    ".container": ("Container", "", 4),
    ".kube": ("Kube", "", 4),
    ".volume": ("Volume", "-volume", 2),
    ".network": ("Network", "-network", 2),
    ".image": ("Image", "-image", 1),
    ".build": ("Build", "-build", 3),
    ".artifact": ("Artifact", "-artifact", 1),
    ".pod": ("Pod", "-pod", 5),
}
TYPES = {ext: (group, suffix) for ext, (group, suffix, _) in _TYPES.items()}
EXTENSION_ORDER = {ext: order for ext, (_, _, order) in _TYPES.items()}

# [Service] keys that clash with how Podman runs; using them only earns a warning.
UNSUPPORTED_SERVICE_KEYS = ("User", "Group", "DynamicUser")

# [Unit] keys whose values may name other Quadlet files (x.volume -> x-volume.service).
UNIT_DEPENDENCY_KEYS = (
    "After", "Before", "BindsTo", "Conflicts", "OnFailure", "OnSuccess", "PartOf",
    "PropagatesReloadTo", "PropagatesStopTo", "ReloadPropagatedFrom", "Requires", "Requisite",
    "StopPropagatedFrom", "Upholds", "Wants",
)

QUADLET_KEYS = frozenset({"DefaultDependencies"})

# The health check's keys and the --health-* flags they become.
HEALTH_FLAGS = (
    ("HealthCmd", "cmd"), ("HealthInterval", "interval"), ("HealthOnFailure", "on-failure"),
    ("HealthLogDestination", "log-destination"), ("HealthMaxLogCount", "max-log-count"),
    ("HealthMaxLogSize", "max-log-size"), ("HealthRetries", "retries"),
    ("HealthStartPeriod", "start-period"), ("HealthTimeout", "timeout"),
    ("HealthStartupCmd", "startup-cmd"), ("HealthStartupInterval", "startup-interval"),
    ("HealthStartupRetries", "startup-retries"), ("HealthStartupSuccess", "startup-success"),
    ("HealthStartupTimeout", "startup-timeout"),
)

SUPPORTED_KEYS: dict[str, frozenset[str]] = {
    "Container": frozenset((
        "AddCapability AddDevice AddHost Annotation AppArmor AutoUpdate CgroupsMode "
        "ContainerName ContainersConfModule DNS DNSOption DNSSearch DropCapability "
        "Environment EnvironmentFile EnvironmentHost Entrypoint Exec ExposeHostPort GIDMap "
        "GlobalArgs Group GroupAdd HostName HttpProxy IP6 IP Image Label LogDriver LogOpt "
        "Mask Memory Mount Network NetworkAlias NoNewPrivileges Notify PidsLimit Pod "
        "PodmanArgs PublishPort Pull ReadOnly ReadOnlyTmpfs ReloadCmd ReloadSignal RemapGid "
        "RemapUid RemapUidSize RemapUsers Retry RetryDelay Rootfs RunInit SeccompProfile "
        "Secret SecurityLabelDisable SecurityLabelFileType SecurityLabelLevel "
        "SecurityLabelNested SecurityLabelType ServiceName ShmSize StopSignal StartWithPod "
        "StopTimeout SubGIDMap SubUIDMap Sysctl Timezone Tmpfs UIDMap Ulimit Unmask User "
        "UserNS VolatileTmp Volume WorkingDir"
    ).split() + [key for key, _ in HEALTH_FLAGS]),
    "Volume": frozenset((
        "ContainersConfModule Copy Device Driver GlobalArgs Group Image Label Options "
        "PodmanArgs ServiceName Type User VolumeName UID GID"
    ).split()),
    "Network": frozenset((
        "Label DNS ContainersConfModule GlobalArgs DisableDNS Driver Gateway IPAMDriver "
        "IPRange IPv6 InterfaceName Internal NetworkName NetworkDeleteOnStop Options "
        "ServiceName Subnet PodmanArgs"
    ).split()),
    "Kube": frozenset((
        "AutoUpdate ConfigMap ContainersConfModule ExitCodePropagation GlobalArgs "
        "KubeDownForce LogDriver LogOpt Network PodmanArgs PublishPort RemapGid RemapUid "
        "RemapUidSize RemapUsers ServiceName SetWorkingDirectory UserNS Yaml"
    ).split()),
    "Image": frozenset((
        "AllTags Arch AuthFile CertDir ContainersConfModule Creds DecryptionKey GlobalArgs "
        "Image ImageTag OS PodmanArgs Policy Retry RetryDelay ServiceName TLSVerify Variant"
    ).split()),
    "Build": frozenset((
        "Annotation Arch AuthFile BuildArg ContainersConfModule DNS DNSOption DNSSearch "
        "Environment File ForceRM GlobalArgs GroupAdd IgnoreFile ImageTag Label Network "
        "PodmanArgs Pull Retry RetryDelay Secret ServiceName SetWorkingDirectory Target "
        "TLSVerify Variant Volume"
    ).split()),
    "Artifact": frozenset((
        "Artifact AuthFile CertDir ContainersConfModule Creds DecryptionKey GlobalArgs "
        "PodmanArgs Quiet Retry RetryDelay ServiceName TLSVerify"
    ).split()),
    "Pod": frozenset((
        "AddHost ContainersConfModule DNS DNSOption DNSSearch ExitPolicy GIDMap GlobalArgs "
        "HostName IP IP6 Label Network NetworkAlias PodName PodmanArgs PublishPort RemapGid "
        "RemapUid RemapUidSize RemapUsers ServiceName ShmSize StopTimeout SubGIDMap "
        "SubUIDMap UIDMap UserNS Volume"
    ).split()),
}


def extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:] if dot >= 0 else ""


def is_supported(filename: str) -> bool:
    return extension(filename) in TYPES
