"""Answers "what names would upstream KubeSpawner give?" over stdin/stdout.

Run with the python of ci/upstream-venv (jupyterhub-kubespawner 7.1.0, not
ours). Each input line is a JSON object: username, servername, and
optionally slug_scheme and templates (trait name -> template); each output
line is a JSON object of upstream's pod_name, pvc_name, namespace (with
enable_user_namespaces), the username/servername label values and
_expand_user_properties of the given extra strings.
"""

import asyncio
import json
import sys

from jupyterhub import orm

from kubespawner import KubeSpawner


# Not testsupport.spawners.StubUser: this runs in upstream's virtualenv, which
# has neither our packages nor testsupport.
class User:
    def __init__(self, name):
        self.name = name
        self.id = 1
        self.url = "/user/" + name


def names(request: dict) -> dict:
    config = dict(request.get("traits") or {})
    spawner = KubeSpawner(
        _mock=True,
        user=User(request["username"]),
        orm_spawner=orm.Spawner(name=request.get("servername", "")),
        enable_user_namespaces=True,
        **config,
    )
    labels = spawner._build_pod_labels({})
    return {
        "pod_name": spawner.pod_name,
        "pvc_name": spawner.pvc_name,
        "namespace": spawner.namespace,
        "username_label": labels["hub.jupyter.org/username"],
        "servername_label": labels["hub.jupyter.org/servername"],
        "expanded": [spawner._expand_user_properties(t) for t in request.get("expand", [])],
    }


async def main():
    # upstream's KubeSpawner makes its API client in __init__, which needs a
    # running loop (the client is never used: no request is made)
    for line in sys.stdin:
        try:
            answer = names(json.loads(line))
        except Exception as error:  # reported to the test, which shows it
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
