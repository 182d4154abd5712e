{{- define "jupyterhub.notes" -}}
{{- include "jupyterhub.loadValues" . }}{{- $V := get . "_jupyterhubValues" }}
{{- $mode := include "jupyterhub.https.mode" $V }}
{{- $scheme := ne $mode "" | ternary "https" "http" }}
{{- $public := include "jupyterhub.name" (list . "proxy-public") }}
JupyterHub (release {{ .Release.Name }}, chart {{ .Chart.Version }}) is installed in namespace {{ .Release.Namespace }}.

Open it at:
{{- if $V.ingress.enabled }}
{{- range $V.ingress.hosts }}
  {{ empty $V.ingress.tls | ternary "http" "https" }}://{{ . }}{{ $V.hub.baseUrl }}
{{- end }}
{{- else if and $V.httpRoute.enabled $V.httpRoute.hostnames }}
{{- range $V.httpRoute.hostnames }}
  https://{{ . }}{{ $V.hub.baseUrl }}
{{- end }}
{{- else if and $mode $V.proxy.https.hosts }}
{{- range $V.proxy.https.hosts }}
  https://{{ . }}{{ $V.hub.baseUrl }}
{{- end }}
{{- else if eq $V.proxy.service.type "LoadBalancer" }}
  {{ $scheme }}://<EXTERNAL-IP>{{ $V.hub.baseUrl }}, where EXTERNAL-IP is shown (after a minute or two) by
    kubectl --namespace {{ .Release.Namespace }} get service {{ $public }}
{{- else if eq $V.proxy.service.type "NodePort" }}
  {{ $scheme }}://<any node's IP>:<node port>{{ $V.hub.baseUrl }}, with the node port from
    kubectl --namespace {{ .Release.Namespace }} get service {{ $public }}
{{- else }}
  kubectl --namespace {{ .Release.Namespace }} port-forward service/{{ $public }} 8080:80
  then http://localhost:8080{{ $V.hub.baseUrl }}
{{- end }}
{{- if eq (dig "JupyterHub" "authenticator_class" "" $V.hub.config) "dummy" }}
{{- if not (dig "type" "" ($V.auth | default dict)) }}

Anyone can log in with any user name and password (the dummy authenticator):
configure an authenticator (hub.config.JupyterHub.authenticator_class) before
real users arrive.
{{- end }}
{{- end }}
{{- $placeholders := $V.scheduling.userPlaceholder }}
{{- if and $placeholders.enabled (gt (int $placeholders.replicas) 0) (not $V.scheduling.podPriority.enabled) }}

WARNING: scheduling.userPlaceholder.replicas is {{ $placeholders.replicas }} but
scheduling.podPriority.enabled is false: the placeholders have the same
priority as users' pods, so users cannot evict them and the headroom they
hold is lost. Set scheduling.podPriority.enabled: true.
{{- end }}
{{- $su := $V.singleuser }}
{{- if $su.cloudMetadata.blockWithIptables }}

Users' pods start with an init container that blocks the cloud metadata
server with iptables (singleuser.cloudMetadata.blockWithIptables). It runs as
root with NET_ADMIN, which namespaces enforcing Pod Security baseline or
restricted refuse: there set podSecurity.level: restricted, and the singleuser
NetworkPolicy blocks the metadata server instead (where the cluster enforces
NetworkPolicy).
{{- else if and (not $su.networkPolicy.enabled) (not $su.networkPolicy.egressAllowRules.cloudMetadataServer) }}

WARNING: singleuser.networkPolicy.enabled is false and podSecurity.level is
{{ $V.podSecurity.level }} (no iptables init container): nothing blocks users' access to the
cloud metadata server ({{ $su.cloudMetadata.ip }}), which may hand out the node's
cloud credentials. Enable the NetworkPolicy, or block it in the cluster.
{{- end }}
{{- $us := $V.scheduling.userScheduler }}
{{- if and $us.enabled (kindIs "invalid" $us.image.tag) }}
{{- $chosen := include "jupyterhub.kubeSchedulerChoice" . | fromJson }}
{{- if or (gt (int $chosen.skew) 1) (lt (int $chosen.skew) 0) }}

WARNING: this cluster runs Kubernetes {{ .Capabilities.KubeVersion.Version }}, but the newest
kube-scheduler this chart knows for the user-scheduler is {{ $chosen.tag }}, outside
Kubernetes' version skew policy (at most one minor version older). Set
scheduling.userScheduler.image.tag to a kube-scheduler release matching the
cluster, or upgrade the chart.
{{- end }}
{{- end }}
{{- with include "jupyterhub.fromZ2jhNote" . }}

{{ . }}
{{- end }}
{{- with include "jupyterhub.legacyWarnings" . }}

WARNING: this configuration uses keys of older versions of the chart. They
still work, but write them the current way:
{{ . }}
{{- end }}

{{- end }}


{{- /* What an upgrade from a Zero to JupyterHub release kept and changed.
  Recognised by the hub Deployment still running z2jh's hub image (lookup:
  helm renders NOTES before it applies, so this sees the release as it was;
  empty in `helm template`). tests/e2e/test_e2e_migration.py measures it. */}}
{{- define "jupyterhub.fromZ2jhNote" -}}
{{- include "jupyterhub.loadValues" . }}{{- $V := get . "_jupyterhubValues" }}
{{- $hub := lookup "apps/v1" "Deployment" .Release.Namespace (include "jupyterhub.name" (list . "hub")) }}
{{- $image := "" }}
{{- range (dig "spec" "template" "spec" "containers" list ($hub | default dict)) }}
{{- if eq .name "hub" }}{{ $image = .image }}{{ end }}
{{- end }}
{{- if hasPrefix "quay.io/jupyterhub/k8s-hub:" $image }}
Upgraded from Zero to JupyterHub ({{ $image }}). Kept: the generated proxy
token, cookie secret and crypt keys (Secret {{ include "jupyterhub.name" (list . "hub") }}: users stay logged in),
object names and selectors, users' claims under their names (claims of
KubeSpawner 6 / z2jh 3 are found under their old names). Users' servers keep
running.
{{- if eq $V.hub.db.type "sqlite-pvc" }}
The hub upgrades its database in {{ include "jupyterhub.name" (list . "hub-db-dir") }} to JupyterHub {{ .Chart.AppVersion }}'s schema
when it starts, keeping a copy of the old one (jupyterhub.sqlite.<timestamp>).
A `helm rollback` to the z2jh revision then needs that copy put back as
jupyterhub.sqlite: z2jh's hub refuses the upgraded database.
{{- end }}
{{- end }}
{{- end }}
