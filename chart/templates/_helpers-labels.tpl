{{- /*
Labels. Selectors use only name/instance/component, which never change over
a release's life; the full set adds managed-by, version and helm.sh/chart.
Usage: include "jupyterhub.labels" (list $ "hub")
*/}}
{{- define "jupyterhub.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "jupyterhub.chartName" $root | quote }}
app.kubernetes.io/instance: {{ $root.Release.Name | quote }}
app.kubernetes.io/component: {{ index . 1 | quote }}
{{- end }}

{{- define "jupyterhub.labels" -}}
{{- $root := index . 0 -}}
{{ include "jupyterhub.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ $root.Release.Service | quote }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | quote }}
{{- end }}

{{- /* metadata: name, namespace, labels. include "jupyterhub.metadata" (list $ "hub" "hub") */}}
{{- define "jupyterhub.metadata" -}}
{{- $root := index . 0 -}}
name: {{ include "jupyterhub.name" (list $root (index . 1)) }}
namespace: {{ $root.Release.Namespace | quote }}
labels:
  {{- include "jupyterhub.labels" (list $root (index . 2)) | nindent 2 }}
{{- end }}
