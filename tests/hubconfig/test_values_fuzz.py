"""A fuzz test of the values schema: a few hundred mutated config.yaml files
(seeded, so every run makes the same ones), each either

- refused by `helm template` with a message that names a key it changed
  (a schema error or one of the chart's own `fail`s, never a template
  traceback), or
- rendered into objects that are valid Kubernetes 1.28 and 1.35
  (kubernetes-validate, strict), loaded by the hub config without an error,
  and turned by the real spawner into a valid user pod.

Mutations, one to three per file, on a base (no values, dev-config.yaml, or
a seed-era values file): a value of the wrong type at a key of any depth, an
unknown key (a misspelling) in any closed mapping, a seed-era key from
tests/chart/test_chart_legacy.py, or another value of the same type. Inside
free-form values (hub.config, extraPodConfig, securityContexts...) only the
type is changed: what goes there is Kubernetes' or JupyterHub's to check.
"""

import copy
import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from testsupport.spawners import real_spawner

from ..chart.test_chart_kubevalidate import _errors
from ..chart.test_chart_legacy import CASES as LEGACY
from .hubenv import REPO, hub_pod, load_hub_config, materialise, render

CASES = int(os.environ.get("VALUES_FUZZ_CASES", "200"))
VERSIONS = ("1.28", "1.35")
SCHEMA = json.loads((REPO / "chart" / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((REPO / "chart" / "values.yaml").read_text())
BASES = {
    "default": {},
    "dev-config": yaml.safe_load((REPO / "dev-config.yaml").read_text()),
    **{
        f"seed/{p.stem}": yaml.safe_load(p.read_text()) or {}
        for p in sorted((REPO / "tests" / "chart" / "values" / "seed").glob("*.yaml"))
    },
}
# Python code, or secrets and names that must exist in the cluster: helm
# cannot check them, so they are not mutated.
NOT_MUTATED = ("hub.extraConfig", "hub.existingSecret", "hub.db.url", "custom", "global")
# Seed-era cases that name a class the hub image does not have (the hub
# refuses it at start, as only it can).
HUB_ONLY_LEGACY = {"auth-custom"}
WRONG_TYPES = [7, -3, 2.5, "fuzz", "", True, [], ["fuzz"], {}, {"fuzz": "x"}, None]
STRINGS = ["", " ", "UPPER case", "-", "0", "x" * 300, "{username}", "ünïcode", "a/b:c"]
# Helm's words for a template that broke rather than refused.
TRACEBACK = ("executing \"", "nil pointer", "wrong type for value", "error calling",
             "error converting YAML", "can't evaluate", "cannot unmarshal", "incompatible types")  # fmt: skip


def schema_at(path):
    node = SCHEMA
    for part in path:
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def closed(node):
    return bool(node) and node.get("additionalProperties") is False


def deep_merge(base, extra):
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def paths(tree, prefix=()):
    """(path, value, schema node) of every key, not descending into free-form values."""
    for key, value in tree.items():
        path = (*prefix, key)
        if ".".join(path).startswith(NOT_MUTATED):
            continue
        node = schema_at(path)
        yield path, value, node
        if isinstance(value, dict) and closed(node):
            yield from paths(value, path)


def set_at(tree, path, value):
    for part in path[:-1]:
        if not isinstance(tree.get(part), dict):
            tree[part] = {}
        tree = tree[part]
    tree[path[-1]] = value


def misspelt(rng, key):
    i = rng.randrange(len(key))
    return key[:i] + key[i + 1 :] if len(key) > 3 else key + "x"


def same_type(rng, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return rng.choice([0, -1, 2**40, 0.001])
    if isinstance(value, str):
        return rng.choice(STRINGS)
    if isinstance(value, list):
        return rng.choice([[], value * 2, [None]])
    return rng.choice(WRONG_TYPES)


def mutate(rng, config):
    """One mutation of `config` (in place); returns (kind, path it names)."""
    effective = deep_merge(DEFAULTS, config)
    kind = rng.choice(["wrong-type", "unknown-key", "legacy", "value"])
    if kind == "legacy":
        name = rng.choice(sorted(set(LEGACY) - HUB_ONLY_LEGACY))
        values = copy.deepcopy(LEGACY[name][0])
        config.update(deep_merge(config, values))
        first = next(iter(paths(values)), None)
        return f"legacy {name}", first[0] if first else (name,)
    candidates = list(paths(effective))
    if kind == "unknown-key":
        mappings = [((), effective)] + [
            (p, v) for p, v, n in candidates if isinstance(v, dict) and closed(n)
        ]
        parent, mapping = rng.choice(mappings)
        key = misspelt(rng, rng.choice(sorted(mapping))) if mapping else "fuzzKey"
        if key in mapping:
            key = "fuzzKey"
        path = (*parent, key)
        set_at(config, path, rng.choice(WRONG_TYPES[:6]))
        return kind, path
    path, value, _node = rng.choice(candidates)
    new = rng.choice(WRONG_TYPES) if kind == "wrong-type" else same_type(rng, value)
    set_at(config, path, new)
    return kind, path


def make_cases():
    cases = []
    for i in range(CASES):
        rng = random.Random(i)
        base = rng.choice(sorted(BASES))
        config = copy.deepcopy(BASES[base])
        mutations = [mutate(rng, config) for _ in range(rng.randint(1, 3))]
        cases.append((i, base, mutations, config))
    return cases


def names_a_key(message, mutations):
    for _kind, path in mutations:
        for depth in range(len(path), 0, -1):
            part = path[:depth]
            if ".".join(part) in message or "/" + "/".join(part) in message:
                return True
        if f"'{path[-1]}'" in message:  # an unknown key, named by the schema
            return True
    return False


def render_case(case, tmp):
    i, _base, _mutations, config = case
    path = Path(tmp) / f"case-{i}.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        return render([path]), None
    except RuntimeError as e:
        return None, str(e)


async def check_accepted(manifests, tmp, seen):
    """Problems of a render helm accepted (empty when all is well)."""
    problems = []
    for doc in manifests:
        text = json.dumps(doc, sort_keys=True)
        for version in VERSIONS:
            if (version, text) not in seen:
                seen[version, text] = _errors(version, text)
            if seen[version, text]:
                problems.append(
                    f"{doc['kind']}/{doc['metadata']['name']} invalid in {version}: {seen[version, text][:2]}"
                )
    pod = hub_pod(manifests)
    try:
        config = load_hub_config(materialise(pod, tmp), pod.env)
        spawner = real_spawner(config)
        manifest = await spawner.build_pod_manifest()
        for version in VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
            if config.KubeSpawner.get("storage_pvc_ensure"):
                kubernetes_validate.validate(spawner.build_pvc_manifest(), version, strict=True)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - every way the hub could fail
        problems.append(f"hub: {type(e).__name__}: {str(e)[:300]}")
    return problems


@pytest.mark.slow
async def test_mutated_values_are_refused_naming_a_key_or_work(tmp_path, capsys):
    cases = make_cases()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda c: render_case(c, tmp_path), cases))
    found, counts, seen = [], {"refused": 0, "accepted": 0}, {}
    for case, (manifests, error) in zip(cases, results, strict=True):
        i, base, mutations, config = case
        what = f"case {i} (base {base}, {[(k, '.'.join(map(str, p))) for k, p in mutations]})"
        if error is not None:
            counts["refused"] += 1
            if any(t in error for t in TRACEBACK):
                found.append(f"{what}: a template traceback: {error[-400:]}")
            elif not names_a_key(error, mutations):
                found.append(f"{what}: refused without naming the key: {error[-400:]}")
            continue
        counts["accepted"] += 1
        for problem in await check_accepted(manifests, tmp_path / f"root-{i}", seen):
            found.append(
                f"{what}: helm accepted it, but {problem}\n    values: {json.dumps(config)[:400]}"
            )
    with capsys.disabled():
        print(f"\nvalues fuzz: {len(cases)} cases, {counts['refused']} refused by helm naming the key, "
              f"{counts['accepted']} rendered valid and loaded by the hub; {len(found)} problems")  # fmt: skip
    assert not found, "\n".join(found)
