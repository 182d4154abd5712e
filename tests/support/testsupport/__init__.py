"""Test support shared by every suite of this repository.

- `testsupport.spawners`: the stub hub pieces a spawner is built with
  (`StubUser`), a config-only `KubeSpawner` and the real one, ready to use.
- `testsupport.html_form`: the profile options form, parsed as a browser sees it.
- `testsupport.helm`: `helm template`/`helm lint` of the chart, cached, on top of
  `localdeploy.render` (the one helm template command of the repository).
- `testsupport.waiting`: `poll_until` for checks that have no event to wait on.

Free ports come from `localdeploy.ports`; waits on kubesim's objects (driven by
watch events) and kubesim clients from `kubesim.testing`. Fixtures that start
kubesim's node layer alone (no API server) are kubesim's internals and live in
kubesim/tests/conftest.py.
"""
