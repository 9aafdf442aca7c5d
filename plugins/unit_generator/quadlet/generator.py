"""One generator run: load Quadlet files and drop-ins, convert them in dependency order,
write the services (or print them in a dry run) and the ``[Install]`` symlinks."""

from __future__ import annotations

import logging
import os
import string
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from plugins.unit_generator.quadlet.build import convert_build
from plugins.unit_generator.quadlet.container import convert_container
from plugins.unit_generator.quadlet.dirs import unit_dirs
from plugins.unit_generator.quadlet.image import convert_artifact, convert_image
from plugins.unit_generator.quadlet.keys import (
    EXTENSION_ORDER,
    INSTALL,
    SERVICE,
    TYPES,
    UNSUPPORTED_SERVICE_KEYS,
    extension,
    is_supported,
)
from plugins.unit_generator.quadlet.kube import convert_kube
from plugins.unit_generator.quadlet.model import (
    DEFAULT_PODMAN,
    Context,
    Conversion,
    QuadletError,
    UnitInfo,
)
from plugins.unit_generator.quadlet.naming import (
    built_image_name,
    container_resource_name,
    pod_resource_name,
    service_name,
)
from plugins.unit_generator.quadlet.network import convert_network
from plugins.unit_generator.quadlet.parser import UnitFile, UnitFileError
from plugins.unit_generator.quadlet.pod import convert_pod
from plugins.unit_generator.quadlet.volume import convert_volume

logger = logging.getLogger(__name__)

Converter = Callable[[UnitFile, Context], Conversion]

CONVERTERS: dict[str, Converter] = {
    ".container": convert_container,
    ".volume": convert_volume,
    ".kube": convert_kube,
    ".network": convert_network,
    ".image": convert_image,
    ".build": convert_build,
    ".artifact": convert_artifact,
    ".pod": convert_pod,
}

# Types whose Image= (or Artifact=) gets the "not fully qualified" warning.
_IMAGE_GROUPS = {ext: TYPES[ext][0] for ext in (".container", ".volume", ".image", ".artifact")}


@dataclass
class Options:
    outdir: str = ""
    dry_run: bool = False
    is_user: bool = False
    argv0: str = "quadlet"


def load_units(dirs: list[str], errors: list[str]) -> list[UnitFile]:
    """Quadlet files of ``dirs``; a file name seen in an earlier folder wins."""
    seen: set[str] = set()
    units: list[UnitFile] = []
    for folder in dirs:
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(str(exc))
            continue
        for name in names:
            if name in seen or not is_supported(name):
                continue
            path = os.path.join(folder, name)
            logger.debug("Loading source unit file %s", path)
            try:
                units.append(UnitFile.from_path(path))
            except (OSError, UnitFileError, UnicodeError) as exc:
                errors.append(f'error loading "{path}", {exc}')
            else:
                seen.add(name)
    return units


def load_dropins(unit: UnitFile, dirs: list[str], errors: list[str]) -> None:
    """Merge the ``*.conf`` drop-ins that apply to ``unit``, in name order; for a name
    present in several folders the most specific folder wins."""
    found: dict[str, str] = {}
    for dropin_dir in (os.path.join(d, sub) for sub in unit.dropin_paths() for d in dirs):
        try:
            names = sorted(os.listdir(dropin_dir))
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f'error reading directory "{dropin_dir}", {exc}')
            continue
        for name in names:
            if name.endswith(".conf") and name not in found:
                found[name] = os.path.join(dropin_dir, name)
    for name in sorted(found):
        logger.debug("Loading source drop-in file %s", found[name])
        try:
            unit.merge(UnitFile.from_path(found[name]))
        except (OSError, UnitFileError, UnicodeError) as exc:
            errors.append(f'error loading "{found[name]}", {exc}')


def units_info(units: list[UnitFile]) -> dict[str, UnitInfo]:
    """Names every converter may need before the unit they refer to is converted."""
    infos: dict[str, UnitInfo] = {}
    for unit in units:
        info = UnitInfo(service_name(unit))
        ext = extension(unit.filename)
        if ext == ".container":  # lets other containers join its network
            info.resource_name = container_resource_name(unit)
        elif ext == ".build":  # breaks the .volume <-> .build cycle
            info.resource_name = built_image_name(unit)
        elif ext == ".pod":
            info.resource_name = pod_resource_name(unit)
        infos[unit.filename] = info
    return infos


def _is_image_id(name: str) -> bool:
    return name.startswith("sha256:") or (
        len(name) == 64 and all(c in string.hexdigits for c in name))


def _is_fully_qualified(name: str) -> bool:
    if _is_image_id(name):
        return True
    domain, slash, _rest = name.partition("/")
    return bool(slash) and (any(c in domain for c in ".:") or domain == "localhost")


def _warn_ambiguous_image(unit: UnitFile, group: str) -> None:
    image = unit.lookup(group, "Image")
    if (image is not None and not image.endswith((".build", ".image"))
            and not _is_fully_qualified(image)):
        logger.warning('Warning: %s specifies the image "%s" which not a fully qualified image '
                       "name. This is not ideal for performance and security reasons. See the "
                       "podman-pull manpage discussion of short-name-aliases.conf for details.",
                       unit.filename, image)


def _warn_unsupported_service_keys(unit: UnitFile) -> None:
    for key in UNSUPPORTED_SERVICE_KEYS:
        if unit.lookup(SERVICE, key) is not None:
            logger.warning("Warning: using key %s in the Service group is not supported - use "
                           "at your own risk", key)


def write_service(service: UnitFile, argv0: str) -> None:
    logger.debug('writing "%s"', service.path)
    service.prepend_comment("", f"Automatically generated by {argv0}", "")
    with open(service.path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(service.to_string())
        fh.flush()
        os.fsync(fh.fileno())


def enable_service(outdir: str, service: UnitFile) -> None:
    """The symlinks ``systemctl enable`` would make for ``[Install]``, since generated
    units cannot be enabled."""
    links = [os.path.normpath(a) for a in service.lookup_all_strv(INSTALL, "Alias")]
    filename = service.filename
    base, instance, is_template = service.template_parts()
    if is_template and not instance:
        # A bare template is only installed under its DefaultInstance=.
        default = service.lookup(INSTALL, "DefaultInstance")
        filename = "" if default is None else f"{base}@{default}{os.path.splitext(filename)[1]}"
    if filename:
        for key, kind in (("WantedBy", "wants"), ("RequiredBy", "requires"),
                          ("UpheldBy", "upholds")):
            links += [f"{target}.{kind}/{filename}"
                      for target in service.lookup_all_strv(INSTALL, key) if "/" not in target]
    for link in links:
        target = os.path.relpath(service.filename, os.path.dirname(link) or ".")
        path = os.path.join(outdir, link)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:
            logger.error("Can't create dir %s: %s", os.path.dirname(path), exc)
            continue
        logger.debug("Creating symlink %s -> %s", path, target)
        try:
            if os.path.lexists(path):
                os.remove(path)
            os.symlink(target, path)
        except OSError as exc:
            logger.error("Failed creating symlink %s: %s", path, exc)


def generate(opts: Options, env: Mapping[str, str] | None = None) -> bool:
    """Run the generator; False if anything failed (each failure is logged)."""
    env = os.environ if env is None else env
    ok = True

    def report(message: str) -> None:
        nonlocal ok
        logger.error("%s", message)
        ok = False

    if not opts.dry_run:
        logger.debug("Starting quadlet-generator, output to: %s", opts.outdir)
    dirs = unit_dirs(opts.is_user, env)
    errors: list[str] = []
    units = load_units(dirs, errors)
    if errors:
        report("\n".join(errors))
    if not units:
        logger.debug("No files parsed from [%s]", " ".join(dirs))
        return ok
    for unit in units:
        errors = []
        load_dropins(unit, dirs, errors)
        if errors:
            report("\n".join(errors))
    if not opts.dry_run:
        try:
            os.makedirs(opts.outdir, exist_ok=True)
        except OSError as exc:
            report(str(exc))
            return ok

    units.sort(key=lambda u: EXTENSION_ORDER.get(extension(u.filename), 0))
    ctx = Context(units_info(units), opts.is_user, env.get("PODMAN") or DEFAULT_PODMAN)
    for unit in units:
        ext = extension(unit.filename)
        _warn_unsupported_service_keys(unit)
        if ext in _IMAGE_GROUPS:
            _warn_ambiguous_image(unit, _IMAGE_GROUPS[ext])
        try:
            result = CONVERTERS[ext](unit, ctx)
        except QuadletError as exc:
            report(f'converting "{unit.filename}": {exc}')
            continue
        if result.warnings:
            logger.warning("%s", "\n".join(result.warnings))
        service = result.service
        service.path = os.path.join(opts.outdir, service.filename)
        if opts.dry_run:
            sys.stdout.write(f"---{service.path}---\n{service.to_string()}\n")
            continue
        try:
            write_service(service, opts.argv0)
        except OSError as exc:
            report(f"generating service file {service.path}: {exc}")
        enable_service(opts.outdir, service)
    return ok
