{{- /*
Labels. Workload selectors are Zero to JupyterHub's `{component, app,
release}`: `spec.selector` is immutable, so a z2jh release upgraded to this
chart must keep exactly these (a real API server refuses any other). Every
object and pod carries both sets: these and `app.kubernetes.io/*` (the
full set adds chart, heritage, managed-by, version and helm.sh/chart).
Usage: include "jupyterhub.labels" (list $ "hub")
*/}}
{{- define "jupyterhub.selectorLabels" -}}
{{- $root := index . 0 -}}
component: {{ index . 1 | quote }}
app: {{ include "jupyterhub.chartName" $root | quote }}
release: {{ $root.Release.Name | quote }}
{{- end }}

{{- define "jupyterhub.labels" -}}
{{- $root := index . 0 -}}
{{- $chart := printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" -}}
{{ include "jupyterhub.selectorLabels" . }}
chart: {{ $chart | quote }}
heritage: {{ $root.Release.Service | quote }}
app.kubernetes.io/component: {{ index . 1 | quote }}
app.kubernetes.io/name: {{ include "jupyterhub.chartName" $root | quote }}
app.kubernetes.io/instance: {{ $root.Release.Name | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service | quote }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
helm.sh/chart: {{ $chart | quote }}
{{- end }}

{{- /* metadata: name, namespace, labels. include "jupyterhub.metadata" (dict "root" $ "name" "hub" "component" "hub") */}}
{{- define "jupyterhub.metadata" -}}
{{- $root := .root -}}
name: {{ include "jupyterhub.name" (list $root .name) }}
namespace: {{ $root.Release.Namespace | quote }}
labels:
  {{- include "jupyterhub.labels" (list $root .component) | nindent 2 }}
{{- end }}
