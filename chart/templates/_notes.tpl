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
{{- with include "jupyterhub.legacyWarnings" . }}

WARNING: this configuration uses keys of older versions of the chart. They
still work, but write them the current way:
{{ . }}
{{- end }}

{{- end }}
