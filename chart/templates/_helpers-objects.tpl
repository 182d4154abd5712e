{{- /* Small objects several components share. */}}

{{- /* PodDisruptionBudget. (dict "root" $ "pdb" <values> "name" <short name> "component" <component>) */}}
{{- define "jupyterhub.pdb" -}}
{{- $root := .root }}{{ $pdb := .pdb }}
{{- if $pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "jupyterhub.metadata" (dict "root" $root "name" .name "component" .component) | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" $pdb.maxUnavailable) }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- else }}
  minAvailable: {{ $pdb.minAvailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "jupyterhub.selectorLabels" (list $root .component) | nindent 6 }}
{{- end }}
{{- end }}

{{- /* A Service's ipFamilyPolicy and ipFamilies lines, from its values. */}}
{{- define "jupyterhub.serviceIpFamilies" -}}
{{- with .ipFamilyPolicy }}
ipFamilyPolicy: {{ . }}
{{- end }}
{{- with .ipFamilies }}
ipFamilies:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- /* ServiceAccount. (dict "root" $ "serviceAccount" <values> "name" <short name> "component" <component>) */}}
{{- define "jupyterhub.serviceAccount" -}}
{{- $root := .root }}{{ $sa := .serviceAccount }}
{{- if $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "jupyterhub.serviceAccountName" . }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "jupyterhub.labels" (list $root .component) | nindent 4 }}
  {{- with $sa.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# Pods that call the API mount the token themselves.
automountServiceAccountToken: false
{{- end }}
{{- end }}

{{- /* The ServiceAccount name a pod uses ("" = none). (dict "root" $ "serviceAccount" <values> "name" <short name>) */}}
{{- define "jupyterhub.serviceAccountName" -}}
{{- $root := .root }}{{ $sa := .serviceAccount }}
{{- if $sa.name }}{{ $sa.name }}
{{- else if $sa.create }}{{ include "jupyterhub.name" (list $root .name) }}
{{- end }}
{{- end }}

{{- /* Secret data entries for extraFiles: one key per file, <prefix><name>.
       (list $extraFiles $prefix) */}}
{{- define "jupyterhub.extraFilesData" -}}
{{- $prefix := index . 1 }}
{{- range $name, $file := index . 0 }}
{{- $content := "" }}
{{- if hasKey $file "binaryData" }}
  {{- $content = $file.binaryData | nospace }}
{{- else if hasKey $file "stringData" }}
  {{- $content = $file.stringData | b64enc }}
{{- else if hasKey $file "data" }}
  {{- $ext := ext $file.mountPath }}
  {{- if or (eq $ext ".yaml") (eq $ext ".yml") }}{{ $content = toYaml $file.data | b64enc }}
  {{- else if eq $ext ".json" }}{{ $content = toJson $file.data | b64enc }}
  {{- else if eq $ext ".toml" }}{{ $content = toToml $file.data | b64enc }}
  {{- else }}{{ fail (printf "extraFiles.%s: `data` needs a mountPath ending in .yaml, .yml, .json or .toml (got %q); use stringData for other files" $name $file.mountPath) }}
  {{- end }}
{{- else }}
  {{- fail (printf "extraFiles.%s needs one of data, stringData or binaryData" $name) }}
{{- end }}
{{ printf "%s%s" $prefix $name }}: {{ $content | quote }}
{{- end }}
{{- end }}

{{- /* volumeMounts for extraFiles from the volume named "files". */}}
{{- define "jupyterhub.extraFilesMounts" -}}
{{- range $name, $file := . }}
- name: files
  mountPath: {{ $file.mountPath }}
  subPath: {{ printf "extra-file.%s" $name }}
{{- end }}
{{- end }}

{{- /* volume "files" for extraFiles. (list $secretName $extraFiles) */}}
{{- define "jupyterhub.extraFilesVolume" -}}
{{- $files := index . 1 }}
{{- if $files }}
- name: files
  secret:
    secretName: {{ index . 0 }}
    items:
      {{- range $name, $file := $files }}
      - key: {{ printf "extra-file.%s" $name }}
        path: {{ printf "extra-file.%s" $name }}
        {{- with $file.mode }}
        mode: {{ . }}
        {{- end }}
      {{- end }}
{{- end }}
{{- end }}
