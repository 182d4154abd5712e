"""A pod's /etc/resolv.conf and /etc/hosts, as the kubelet writes them (pure).

resolv.conf follows the pod's `dnsPolicy` (kubelet pkg/kubelet/network/dns):

- `ClusterFirst` (the default): the cluster nameserver, search path
  `<ns>.svc.<domain> svc.<domain> <domain>` plus the host's own search
  domains, `options ndots:5`. A hostNetwork pod falls back to `Default`
  unless its policy is `ClusterFirstWithHostNet`.
- `Default`: the host's resolv.conf (nameservers, search, options).
- `None`: nothing but `dnsConfig`.

`dnsConfig` is merged in every case: its nameservers and searches are
appended (duplicates dropped), its options override same-named ones.

/etc/hosts is the kubelet's managed hosts file: localhost entries, then the
pod IP with the pod's hostname (`spec.hostname`, else its name; with
`spec.subdomain` also `<hostname>.<subdomain>.<ns>.svc.<domain>`), then
`hostAliases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubesim.node.cluster_dns import CLUSTER_DOMAIN


@dataclass
class ResolvConf:
    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {server}" for server in self.nameservers]
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse_resolv_conf(text: str) -> ResolvConf:
    parsed = ResolvConf()
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            parsed.nameservers.append(values[0])
        elif key in ("search", "domain"):
            parsed.searches = values  # the last search/domain line wins (resolv.conf(5))
        elif key == "options":
            parsed.options += values
    return parsed


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(base: list[str], extra: list[dict]) -> list[str]:
    merged = {option.split(":", 1)[0]: option for option in base}
    for option in extra:
        name = option.get("name") or ""
        if name:
            value = option.get("value")
            merged[name] = f"{name}:{value}" if value not in (None, "") else name
    return list(merged.values())


def effective_dns_policy(spec: dict) -> str:
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirstWithHostNet":
        return "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        return "Default"
    return policy


def resolv_conf(
    pod: dict, nameserver: str | None, host: ResolvConf, domain: str = CLUSTER_DOMAIN
) -> str:
    """The pod's resolv.conf text. `nameserver` None: cluster DNS unknown, so
    ClusterFirst falls back to Default, as the kubelet does."""
    spec = pod.get("spec") or {}
    policy = effective_dns_policy(spec)
    if policy == "ClusterFirst" and nameserver:
        namespace = pod["metadata"]["namespace"]
        conf = ResolvConf(
            [nameserver],
            [f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *host.searches],
            ["ndots:5"],
        )
    elif policy == "None":
        conf = ResolvConf()
    else:
        conf = ResolvConf(list(host.nameservers), list(host.searches), list(host.options))
    config = spec.get("dnsConfig") or {}
    conf.nameservers = _unique(conf.nameservers + list(config.get("nameservers") or []))
    conf.searches = _unique(conf.searches + list(config.get("searches") or []))
    conf.options = _merge_options(conf.options, config.get("options") or [])
    return conf.render()


_LOCALHOST_ENTRIES = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def pod_hostname(pod: dict) -> str:
    """`spec.hostname`, else the pod's name cut to 63 characters (a DNS label), as
    the kubelet sets it; "" for a hostNetwork pod, which keeps the node's."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork"):
        return ""
    return (spec.get("hostname") or pod["metadata"]["name"])[:63].rstrip("-.")


def hosts_file(pod: dict, pod_ip: str, domain: str = CLUSTER_DOMAIN) -> str:
    spec = pod.get("spec") or {}
    meta = pod["metadata"]
    hostname = pod_hostname(pod)
    text = _LOCALHOST_ENTRIES
    if pod_ip:
        if spec.get("subdomain"):
            fqdn = f"{hostname}.{spec['subdomain']}.{meta['namespace']}.svc.{domain}"
            text += f"{pod_ip}\t{fqdn}\t{hostname}\n"
        else:
            text += f"{pod_ip}\t{hostname}\n"
    aliases = spec.get("hostAliases") or []
    if aliases:
        text += "\n# Entries added by HostAliases.\n"
        for alias in aliases:
            text += "\t".join([alias.get("ip", ""), *(alias.get("hostnames") or [])]) + "\n"
    return text
