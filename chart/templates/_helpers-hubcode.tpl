{{- /* The hub's configuration code, files/hub/ (see hub/configmap.yaml and
hub/deployment.yaml): its ConfigMap key, its top-level entries, its checksum. */}}

{{- /* "files/hub/hubconf/values.py" -> "hubconf.values.py" (a ConfigMap key
cannot hold "/"). */}}
{{- define "jupyterhub.hubCode.key" -}}
{{ trimPrefix "files/hub/" . | replace "/" "." }}
{{- end }}

{{- /* The top-level files and folders of files/hub/, as a YAML list. */}}
{{- define "jupyterhub.hubCode.entries" -}}
{{- $entries := list }}
{{- range $path, $_ := .Files.Glob "files/hub/**" }}
{{- $entries = append $entries (trimPrefix "files/hub/" $path | splitList "/" | first) }}
{{- end }}
{{- $entries | uniq | sortAlpha | toYaml }}
{{- end }}

{{- define "jupyterhub.hubCode.checksum" -}}
{{- $all := "" }}
{{- range $path, $content := .Files.Glob "files/hub/**" }}
{{- $all = printf "%s%s\n%s\n" $all $path (toString $content) }}
{{- end }}
{{- sha256sum $all }}
{{- end }}
