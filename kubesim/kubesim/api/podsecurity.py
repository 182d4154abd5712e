"""Pod Security admission: the Pod Security Standards, checked as k8s.io/pod-security-admission does.

Pure functions: `evaluate(level, pod metadata, pod spec)` gives the violations
(forbidden reason, detail) in the real plugin's order (baseline checks sorted
by check ID, then restricted ones; a restricted check replaces the baseline
check it overrides), and `parse_policy(namespace labels)` reads the
`pod-security.kubernetes.io/{enforce,audit,warn}[-version]` labels with the real
422 causes for bad values. The messages are the plugin's: `violates PodSecurity
"restricted:latest": allowPrivilegeEscalation != false (container "c" must set
securityContext.allowPrivilegeEscalation=false), ...`.

Every version label evaluates the newest checks ("latest"): kubesim does not keep
the older versions' variants of a few checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")

# container.apparmor.security.beta.kubernetes.io/<container>
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

BASELINE_CAPABILITIES = frozenset(
    (
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    )
)
SAFE_SYSCTLS = frozenset(
    (
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    )
)
SELINUX_TYPES = frozenset(
    ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
)
RESTRICTED_VOLUMES = frozenset(
    (
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    )
)

Violation = tuple[str, str]  # (forbidden reason, forbidden detail)


# ----- helpers ---------------------------------------------------------------------------


def _containers(spec: dict) -> Iterator[dict]:
    """Init containers, containers, then ephemeral containers (the plugin's visit order)."""
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(list_name) or []


def _sc(container: dict) -> dict:
    return container.get("securityContext") or {}


def _pod_sc(spec: dict) -> dict:
    return spec.get("securityContext") or {}


def _plural(one: str, many: str, n: int) -> str:
    return one if n == 1 else many


def _quote(items) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _named(containers: list[str]) -> str:
    return f"{_plural('container', 'containers', len(containers))} {_quote(containers)}"


def _setters(pod: bool, containers: list[str]) -> list[str]:
    out = ["pod"] if pod else []
    if containers:
        out.append(_named(containers))
    return out


def _is_windows(spec: dict) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"


# ----- baseline checks -------------------------------------------------------------------


def check_app_armor(meta: dict, spec: dict) -> Violation | None:
    def allowed(kind) -> bool:
        return kind in ("RuntimeDefault", "Localhost")

    bad_values: set[str] = set()
    setters = []
    pod_profile = _pod_sc(spec).get("appArmorProfile")
    if pod_profile and not allowed(pod_profile.get("type")):
        setters.append("pod")
        bad_values.add(str(pod_profile.get("type")))
    containers = []
    for c in _containers(spec):
        profile = _sc(c).get("appArmorProfile")
        if profile and not allowed(profile.get("type")):
            containers.append(c.get("name"))
            bad_values.add(str(profile.get("type")))
    if containers:
        setters.append(_named(containers))
    values = sorted(bad_values)
    annotations = sorted(
        f'{k}="{v}"'
        for k, v in (meta.get("annotations") or {}).items()
        if k.startswith(APPARMOR_ANNOTATION)
        and not (v == "runtime/default" or v.startswith("localhost/"))
    )
    if annotations:
        values += annotations
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if setters:
        reason = _plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values))
        return reason, ", ".join(values)
    return None


def check_capabilities_baseline(meta: dict, spec: dict) -> Violation | None:
    containers, added = [], set()
    for c in _containers(spec):
        extra = [
            cap
            for cap in ((_sc(c).get("capabilities") or {}).get("add") or [])
            if cap not in BASELINE_CAPABILITIES
        ]
        if extra:
            containers.append(c.get("name"))
            added.update(extra)
    if containers:
        return (
            "non-default capabilities",
            f"{_named(containers)} must not include {_quote(sorted(added))} in "
            "securityContext.capabilities.add",
        )
    return None


def check_host_namespaces(meta: dict, spec: dict) -> Violation | None:
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(used)) if used else None


def check_host_path_volumes(meta: dict, spec: dict) -> Violation | None:
    names = [v.get("name") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if names:
        return "hostPath volumes", f"{_plural('volume', 'volumes', len(names))} {_quote(names)}"
    return None


def check_host_ports(meta: dict, spec: dict) -> Violation | None:
    containers, ports = [], set()
    for c in _containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            containers.append(c.get("name"))
            ports.update(used)
    if containers:
        return "hostPort", (
            f"{_named(containers)} {_plural('uses', 'use', len(containers))} "
            f"{_plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}"
        )
    return None


def check_privileged(meta: dict, spec: dict) -> Violation | None:
    containers = [c.get("name") for c in _containers(spec) if _sc(c).get("privileged")]
    if containers:
        return "privileged", f"{_named(containers)} must not set securityContext.privileged=true"
    return None


def check_proc_mount(meta: dict, spec: dict) -> Violation | None:
    if spec.get("hostUsers") is False:
        return None  # a user-namespaced pod may unmask /proc
    containers, kinds = [], set()
    for c in _containers(spec):
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            containers.append(c.get("name"))
            kinds.add(mount)
    if containers:
        return "procMount", (
            f"{_named(containers)} must not set securityContext.procMount to "
            f"{_quote(sorted(kinds))}"
        )
    return None


def _seccomp_setters(spec: dict, ok: Callable[[str | None], bool]) -> tuple[list[str], set]:
    bad_values: set[str] = set()
    pod_profile = _pod_sc(spec).get("seccompProfile")
    pod_bad = bool(pod_profile) and not ok(pod_profile.get("type"))
    if pod_bad:
        bad_values.add(str(pod_profile.get("type")))
    containers = []
    for c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if profile and not ok(profile.get("type")):
            containers.append(c.get("name"))
            bad_values.add(str(profile.get("type")))
    return _setters(pod_bad, containers), bad_values


def check_seccomp_baseline(meta: dict, spec: dict) -> Violation | None:
    setters, values = _seccomp_setters(spec, lambda t: t != "Unconfined")
    if setters:
        return "seccompProfile", (
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{_quote(sorted(values))}"
        )
    return None


def check_se_linux_options(meta: dict, spec: dict) -> Violation | None:
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def bad(options: dict | None) -> bool:
        if not options:
            return False
        found = False
        if options.get("type", "") not in SELINUX_TYPES:
            bad_types.add(options["type"])
            found = True
        for key in flags:
            if options.get(key):
                flags[key] = found = True
        return found

    pod_bad = bad(_pod_sc(spec).get("seLinuxOptions"))
    containers = [c.get("name") for c in _containers(spec) if bad(_sc(c).get("seLinuxOptions"))]
    setters = _setters(pod_bad, containers)
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(f"{_plural('type', 'types', len(bad_types))} {_quote(sorted(bad_types))}")
    data += [f"{key} may not be set" for key, was_set in flags.items() if was_set]
    return "seLinuxOptions", (
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: " + "; ".join(data)
    )


def check_sysctls(meta: dict, spec: dict) -> Violation | None:
    names = [
        s.get("name")
        for s in _pod_sc(spec).get("sysctls") or []
        if s.get("name") not in SAFE_SYSCTLS
    ]
    return ("forbidden sysctls", ", ".join(names)) if names else None


def check_host_process(meta: dict, spec: dict) -> Violation | None:
    def host_process(sc: dict) -> bool:
        return bool((sc.get("windowsOptions") or {}).get("hostProcess"))

    containers = [c.get("name") for c in _containers(spec) if host_process(_sc(c))]
    setters = _setters(host_process(_pod_sc(spec)), containers)
    if setters:
        return "hostProcess", (
            f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"
        )
    return None


# ----- restricted checks -----------------------------------------------------------------


def check_allow_privilege_escalation(meta: dict, spec: dict) -> Violation | None:
    if _is_windows(spec):
        return None
    containers = [
        c.get("name")
        for c in _containers(spec)
        if _sc(c).get("allowPrivilegeEscalation") is not False
    ]
    if containers:
        return "allowPrivilegeEscalation != false", (
            f"{_named(containers)} must set securityContext.allowPrivilegeEscalation=false"
        )
    return None


def check_capabilities_restricted(meta: dict, spec: dict) -> Violation | None:
    if _is_windows(spec):
        return None
    missing_drop, adding, forbidden = [], [], set()
    for c in _containers(spec):
        caps = _sc(c).get("capabilities")
        if caps is None:
            missing_drop.append(c.get("name"))
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing_drop.append(c.get("name"))
        extra = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c.get("name"))
            forbidden.update(extra)
    details = []
    if missing_drop:
        details.append(f'{_named(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{_named(adding)} must not include {_quote(sorted(forbidden))} in "
            "securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def check_restricted_volumes(meta: dict, spec: dict) -> Violation | None:
    names, kinds = [], set()
    for v in spec.get("volumes") or []:
        sources = [k for k in v if k != "name"]
        if any(k in RESTRICTED_VOLUMES for k in sources):
            continue
        names.append(v.get("name"))
        kinds.add(sources[0] if sources else "unknown")
    if names:
        return "restricted volume types", (
            f"{_plural('volume', 'volumes', len(names))} {_quote(names)} "
            f"{_plural('uses', 'use', len(names))} "
            f"{_plural('restricted volume type', 'restricted volume types', len(kinds))} "
            f"{_quote(sorted(kinds))}"
        )
    return None


def check_run_as_non_root(meta: dict, spec: dict) -> Violation | None:
    pod_value = _pod_sc(spec).get("runAsNonRoot")
    explicit, implicit = [], []
    for c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            explicit.append(c.get("name"))
        elif value is None and pod_value is not True:
            implicit.append(c.get("name"))
    setters = _setters(pod_value is False, explicit)
    if setters:
        return "runAsNonRoot != true", (
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
        )
    if implicit:
        return "runAsNonRoot != true", (
            f"pod or {_named(implicit)} must set securityContext.runAsNonRoot=true"
        )
    return None


def check_run_as_user(meta: dict, spec: dict) -> Violation | None:
    containers = [c.get("name") for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    setters = _setters(_pod_sc(spec).get("runAsUser") == 0, containers)
    if setters:
        return "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0"
    return None


def check_seccomp_restricted(meta: dict, spec: dict) -> Violation | None:
    if _is_windows(spec):
        return None

    def ok(kind):
        return kind in ("RuntimeDefault", "Localhost")

    setters, values = _seccomp_setters(spec, ok)
    details = []
    if setters:
        details.append(
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{_quote(sorted(values))}"
        )
    pod_profile = _pod_sc(spec).get("seccompProfile")
    if not (pod_profile and ok(pod_profile.get("type"))):
        implicit = [c.get("name") for c in _containers(spec) if not _sc(c).get("seccompProfile")]
        if implicit:
            details.append(
                f"pod or {_named(implicit)} must set securityContext.seccompProfile.type to "
                '"RuntimeDefault" or "Localhost"'
            )
    return ("seccompProfile", "; ".join(details)) if details else None


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    run: Callable[[dict, dict], Violation | None]
    overrides: tuple[str, ...] = ()


CHECKS = (
    Check("appArmorProfile", "baseline", check_app_armor),
    Check("capabilities_baseline", "baseline", check_capabilities_baseline),
    Check("hostNamespaces", "baseline", check_host_namespaces),
    Check("hostPathVolumes", "baseline", check_host_path_volumes),
    Check("hostPorts", "baseline", check_host_ports),
    Check("privileged", "baseline", check_privileged),
    Check("procMount", "baseline", check_proc_mount),
    Check("seLinuxOptions", "baseline", check_se_linux_options),
    Check("seccompProfile_baseline", "baseline", check_seccomp_baseline),
    Check("sysctls", "baseline", check_sysctls),
    Check("windowsHostProcess", "baseline", check_host_process),
    Check("allowPrivilegeEscalation", "restricted", check_allow_privilege_escalation),
    Check(
        "capabilities_restricted",
        "restricted",
        check_capabilities_restricted,
        ("capabilities_baseline",),
    ),
    Check("restrictedVolumes", "restricted", check_restricted_volumes, ("hostPathVolumes",)),
    Check("runAsNonRoot", "restricted", check_run_as_non_root),
    Check("runAsUser", "restricted", check_run_as_user),
    Check(
        "seccompProfile_restricted",
        "restricted",
        check_seccomp_restricted,
        ("seccompProfile_baseline",),
    ),
)


def _checks_for(level: str) -> tuple[Check, ...]:
    """Baseline checks by ID, then restricted ones by ID, without overridden ones."""
    if level == "baseline":
        return tuple(sorted((c for c in CHECKS if c.level == "baseline"), key=lambda c: c.id))
    overridden = {o for c in CHECKS if c.level == "restricted" for o in c.overrides}
    baseline = sorted(
        (c for c in CHECKS if c.level == "baseline" and c.id not in overridden),
        key=lambda c: c.id,
    )
    restricted = sorted((c for c in CHECKS if c.level == "restricted"), key=lambda c: c.id)
    return (*baseline, *restricted)


_LEVEL_CHECKS = {level: _checks_for(level) for level in ("baseline", "restricted")}


def evaluate(level: str, meta: dict, spec: dict) -> list[Violation]:
    """The violations of a pod (its metadata and spec) against one level."""
    if level == "privileged":
        return []
    found = (check.run(meta, spec) for check in _LEVEL_CHECKS[level])
    return [v for v in found if v is not None]


def forbidden_detail(violations: list[Violation]) -> str:
    return ", ".join(f"{r} ({d})" if d else r for r, d in violations)


def forbidden_reason(violations: list[Violation]) -> str:
    return ", ".join(r for r, _ in violations)


# ----- namespace policy --------------------------------------------------------------------


@dataclass(frozen=True)
class LevelVersion:
    level: str = "privileged"
    version: str = "latest"

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()


def _parse_version(value: str) -> str | None:
    if value == "latest":
        return value
    return value if _VERSION.match(value) else None


def parse_policy(labels: dict | None) -> tuple[Policy, list[dict]]:
    """The namespace's policy and the 422 causes of bad label values.

    A bad level or version fails closed: the mode then uses `restricted:latest`.
    """
    labels = labels or {}
    causes: list[dict] = []
    modes = {}
    for mode in MODES:
        level, version = "privileged", "latest"
        key = LABEL_PREFIX + mode
        if key in labels:
            level = labels[key]
            if level not in LEVELS:
                causes.append(
                    _label_cause(key, level, "must be one of privileged, baseline, restricted")
                )
                level = "restricted"
        version_key = key + "-version"
        if version_key in labels:
            parsed = _parse_version(labels[version_key])
            if parsed is None:
                causes.append(
                    _label_cause(version_key, labels[version_key], 'must be "latest" or "v1.x"')
                )
                parsed = "latest"
            version = parsed
        modes[mode] = LevelVersion(level, version)
    return Policy(**modes), causes


def _label_cause(key: str, value: str, why: str) -> dict:
    return {
        "reason": "FieldValueInvalid",
        "message": f'Invalid value: "{value}": {why}',
        "field": f"metadata.labels[{key}]",
    }


def has_policy_labels(labels: dict | None) -> bool:
    return any(k.startswith(LABEL_PREFIX) for k in labels or {})


# ----- what the plugin says --------------------------------------------------------------


def pod_template(rt_key: str, obj: dict) -> tuple[dict, dict] | None:
    """(metadata, spec) of the pod a workload object makes, or None."""
    spec = obj.get("spec") or {}
    if rt_key == "cronjobs.batch":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


WORKLOADS = (
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "jobs.batch",
    "cronjobs.batch",
    "replicationcontrollers",
    "podtemplates",
)


def significant_pod_update(pod: dict, old: dict) -> bool:
    """isSignificantPodUpdate: the pod updates the plugin evaluates at all."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    old_annotations = (old.get("metadata") or {}).get("annotations") or {}
    seccomp = "seccomp.security.alpha.kubernetes.io/pod"
    if annotations.get(seccomp) != old_annotations.get(seccomp):
        return True
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    for list_name in ("containers", "initContainers"):
        new_list, old_list = spec.get(list_name) or [], old_spec.get(list_name) or []
        if len(new_list) != len(old_list):
            return True
        for c, o in zip(new_list, old_list, strict=True):
            key = "container.seccomp.security.alpha.kubernetes.io/" + str(c.get("name"))
            if c.get("image") != o.get("image") or annotations.get(key) != old_annotations.get(key):
                return True
    old_ephemeral = {c.get("name"): c for c in old_spec.get("ephemeralContainers") or []}
    for c in spec.get("ephemeralContainers") or []:
        o = old_ephemeral.get(c.get("name"))
        if o is None or o.get("image") != c.get("image"):
            return True
    return False


def warning(lv: LevelVersion, violations: list[Violation]) -> str:
    return f'would violate PodSecurity "{lv}": {forbidden_detail(violations)}'


def refusal(lv: LevelVersion, violations: list[Violation]) -> str:
    return f'violates PodSecurity "{lv}": {forbidden_detail(violations)}'


def existing_pod_warnings(namespace: str, enforce: LevelVersion, pods: list[dict]) -> list[str]:
    """EvaluatePodsInNamespace: what labelling a namespace with `enforce` warns about.

    One pod per controller first, then the others; pods with the same violations are
    counted under the first name in order.
    """
    first, rest, seen_controllers = [], [], set()
    for pod in pods:
        owner = next(
            (o for o in (pod["metadata"].get("ownerReferences") or []) if o.get("controller")),
            None,
        )
        if owner is None or owner.get("uid") not in seen_controllers:
            if owner is not None:
                seen_controllers.add(owner.get("uid"))
            first.append(pod)
        else:
            rest.append(pod)
    counts: dict[str, list] = {}  # reason -> [pod name, count]
    for pod in first + rest:
        violations = evaluate(enforce.level, pod.get("metadata") or {}, pod.get("spec") or {})
        if not violations:
            continue
        reason = forbidden_reason(violations)
        entry = counts.setdefault(reason, [pod["metadata"]["name"], 0])
        entry[0] = min(entry[0], pod["metadata"]["name"])
        entry[1] += 1
    if not counts:
        return []
    out = [
        f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level '
        f'"{enforce}"'
    ]
    for reason, (name, count) in counts.items():
        if count == 1:
            out.append(f"{name}: {reason}")
        elif count == 2:
            out.append(f"{name} (and 1 other pod): {reason}")
        else:
            out.append(f"{name} (and {count - 1} other pods): {reason}")
    return out


_ORDER = {level: i for i, level in enumerate(LEVELS)}


def needs_pod_dry_run(old: Policy, new: Policy) -> bool:
    """Whether a namespace update's new enforce level is checked against existing pods."""
    if new.enforce == old.enforce or new.enforce.level == "privileged":
        return False
    relaxed = _ORDER[new.enforce.level] < _ORDER[old.enforce.level]
    return not (new.enforce.version == old.enforce.version and relaxed)
