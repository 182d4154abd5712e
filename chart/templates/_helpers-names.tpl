{{- /*
Resource names. `fullnameOverride: ""` (the default) gives the short names
users know (`hub`, `proxy-public`...); null gives `<release>-` or
`<release>-<chart>-`; a string gives `<string>-`. The prefix is cut to 35
characters so the longest derived names stay within Kubernetes' limits
(63 for Services and labels, 52 for a StatefulSet whose pods get a
controller-revision-hash label).
*/}}
{{- define "jupyterhub.chartName" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jupyterhub.prefix" -}}
{{- $override := .Values.fullnameOverride }}
{{- $body := "" }}
{{- if kindIs "string" $override }}
  {{- $body = $override }}
{{- else if contains (include "jupyterhub.chartName" .) .Release.Name }}
  {{- $body = .Release.Name }}
{{- else }}
  {{- $body = printf "%s-%s" .Release.Name (include "jupyterhub.chartName" .) }}
{{- end }}
{{- with $body | trunc 35 | trimSuffix "-" }}{{ . }}-{{ end }}
{{- end }}

{{- /* The names that are the prefix and the short name, as JSON. */}}
{{- define "jupyterhub.prefixedNames" -}}
{{- toJson (list "hub" "proxy" "proxy-api" "proxy-public" "proxy-http" "autohttps" "user-scheduler-lock" "user-placeholder" "hook-image-puller" "hook-image-awaiter" "continuous-image-puller" "singleuser" "image-pull-secret" "hub-db-dir" "proxy-public-tls-acme" "proxy-public-manual-tls") }}
{{- end }}

{{- /* The short names every consumer knows, mapped to rendered names. */}}
{{- define "jupyterhub.names" -}}
{{- $p := include "jupyterhub.prefix" . }}
{{- $names := dict }}
{{- range include "jupyterhub.prefixedNames" . | fromJsonArray }}
  {{- $_ := set $names . (printf "%s%s" $p .) }}
{{- end }}
{{- /* z2jh names the Ingress and HTTPRoute after the prefix itself, or
       "jupyterhub" without one. */}}
{{- $_ := set $names "ingress" ($p | trimSuffix "-" | default "jupyterhub") }}
{{- $_ := set $names "httproute" ($p | trimSuffix "-" | default "jupyterhub") }}
{{- /* The user-scheduler's Deployment/ConfigMap/ServiceAccount keep the short name. */}}
{{- $_ := set $names "user-scheduler-deploy" (printf "%suser-scheduler" $p) }}
{{- $_ := set $names "hub-existing-secret" ($.Values.hub.existingSecret | default "") }}
{{- /* Scheduler names are cluster-wide: without a prefix, use the namespace. */}}
{{- $_ := set $names "user-scheduler" (ternary (printf "%s-user-scheduler" .Release.Namespace) (printf "%suser-scheduler" $p) (eq $p "")) }}
{{- $_ := set $names "hook-image-awaiter-cluster" (ternary (printf "%s-hook-image-awaiter" .Release.Namespace) (printf "%shook-image-awaiter" $p) (eq $p "")) }}
{{- /* PriorityClasses are cluster-wide too; z2jh's names with a prefix are
       <prefix>, <prefix>-user-placeholder and <prefix>-image-puller. */}}
{{- if eq $p "" }}
  {{- range list "default-priority" "user-placeholder-priority" "image-puller-priority" }}
    {{- $_ := set $names . (printf "%s-%s" $.Release.Name .) }}
  {{- end }}
{{- else }}
  {{- $_ := set $names "default-priority" ($p | trimSuffix "-") }}
  {{- $_ := set $names "user-placeholder-priority" (printf "%suser-placeholder" $p) }}
  {{- $_ := set $names "image-puller-priority" (printf "%simage-puller" $p) }}
{{- end }}
{{- toYaml $names }}
{{- end }}

{{- /* One rendered name: include "jupyterhub.name" (list $ "hub") */}}
{{- define "jupyterhub.name" -}}
{{- $root := index . 0 }}{{ $short := index . 1 }}
{{- $p := include "jupyterhub.prefix" $root }}
{{- if has $short (include "jupyterhub.prefixedNames" . | fromJsonArray) }}
  {{- printf "%s%s" $p $short }}
{{- else }}
  {{- $names := include "jupyterhub.names" $root | fromYaml }}
  {{- if not (hasKey $names $short) }}
    {{- fail (printf "chart bug: no resource name %q" $short) }}
  {{- end }}
  {{- index $names $short }}
{{- end }}
{{- end }}
