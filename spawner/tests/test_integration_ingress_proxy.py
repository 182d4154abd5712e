"""KubeIngressProxy against kubesim over HTTP: routes become Ingress,
Service and Endpoints objects, are listed back and deleted."""

from kubespawner.ingress import route_object_name
from kubespawner.proxy import KubeIngressProxy

NS = "default"


async def test_routes_are_created_listed_and_deleted(sim):
    proxy = KubeIngressProxy(namespace=NS, ingress_specifications=[{"host": "hub.example"}])
    assert proxy.should_start is False
    data = {"user": "user@example.com", "server_name": ""}
    await proxy.add_route("/user/user@example.com/", "http://10.1.2.3:8888", data)
    await proxy.add_route("/services/x/", "http://svc-x.default.svc:80", {"services": "x"})

    name = route_object_name("/user/user@example.com/")
    route = sim.get("ingresses", name, NS)
    rule = route["spec"]["rules"][0]
    assert rule["host"] == "hub.example"
    path = rule["http"]["paths"][0]
    assert path["path"] == "/user/user@example.com/"
    assert path["backend"]["service"] == {"name": name, "port": {"number": 8888}}
    assert route["metadata"]["labels"]["hub.jupyter.org/proxy-route"] == "true"
    assert sim.get("endpoints", name, NS)["subsets"][0]["addresses"][0]["ip"] == "10.1.2.3"
    assert sim.get("services", name, NS)["spec"]["type"] == "ClusterIP"
    external = sim.get("services", route_object_name("/services/x/"), NS)
    assert external["spec"] == external["spec"] | {
        "type": "ExternalName",
        "externalName": "svc-x.default.svc",
    }
    assert sim.get("endpoints", route_object_name("/services/x/"), NS) is None

    routes = await proxy.get_all_routes()
    assert routes["/user/user@example.com/"] == {
        "routespec": "/user/user@example.com/",
        "target": "http://10.1.2.3:8888",
        "data": data,
    }
    assert set(routes) == {"/user/user@example.com/", "/services/x/"}

    # a new target for the same route updates the objects in place
    await proxy.add_route("/user/user@example.com/", "http://10.1.2.4:8888", data)
    assert sim.get("endpoints", name, NS)["subsets"][0]["addresses"][0]["ip"] == "10.1.2.4"
    assert (await proxy.get_all_routes())["/user/user@example.com/"]["target"].endswith("2.4:8888")

    await proxy.delete_route("/user/user@example.com/")
    assert sim.get("ingresses", name, NS) is None
    assert sim.get("services", name, NS) is None
    assert sim.get("endpoints", name, NS) is None
    assert set(await proxy.get_all_routes()) == {"/services/x/"}
    await proxy.delete_route("/user/nobody/")  # nothing there: no error
