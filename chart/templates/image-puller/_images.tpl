{{- /*
The images the pullers pull, as a YAML mapping name -> image mapping:
the single-user image, the network-tools image (when it blocks the metadata
server), images of user init/extra containers and profiles, and
prePuller.extraImages.
*/}}
{{- define "jupyterhub.imagePuller.images" -}}
{{- $V := . }}{{ $su := $V.singleuser }}
{{- $images := dict "singleuser" $su.image }}
{{- if $su.cloudMetadata.blockWithIptables }}
  {{- $_ := set $images "network-tools" $su.networkTools.image }}
{{- end }}
{{- range $i, $c := concat ($su.initContainers | default list) ($su.extraContainers | default list) }}
  {{- with $c.image }}
  {{- $_ := set $images (printf "container-%d" $i) (dict "raw" .) }}
  {{- end }}
{{- end }}
{{- if $V.prePuller.pullProfileListImages }}
  {{- range $i, $p := $su.profileList }}
    {{- with dig "kubespawner_override" "image" "" $p }}
    {{- $_ := set $images (printf "profile-%d" $i) (dict "raw" .) }}
    {{- end }}
    {{- range $name, $option := $p.profile_options | default dict }}
      {{- range $choice, $c := $option.choices | default dict }}
        {{- with dig "kubespawner_override" "image" "" $c }}
        {{- $_ := set $images (printf "profile-%d-%s-%s" $i $name $choice | lower | replace "_" "-") (dict "raw" .) }}
        {{- end }}
      {{- end }}
    {{- end }}
  {{- end }}
{{- end }}
{{- range $name, $image := $V.prePuller.extraImages }}
  {{- $_ := set $images (printf "extra-%s" $name) $image }}
{{- end }}
{{- toYaml $images }}
{{- end }}

{{- /* The puller pod spec: one init container per image, then pause. (dict "root" $ "values" $V "serviceAccountName" <name>) */}}
{{- define "jupyterhub.imagePuller.podSpec" -}}
{{- $ := .root }}{{ $V := .values }}{{ $sa := .serviceAccountName }}
{{- $pp := $V.prePuller }}
{{- $images := include "jupyterhub.imagePuller.images" $V | fromYaml }}
{{- $names := include "jupyterhub.names" $ | fromYaml }}
{{- if $sa }}
serviceAccountName: {{ $sa }}
{{- end }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: 0
securityContext:
  {{- include "jupyterhub.podSecurityContext" . | nindent 2 }}
{{- if $V.scheduling.podPriority.enabled }}
priorityClassName: {{ index $names "image-puller-priority" }}
{{- end }}
{{- $scheduling := include "jupyterhub.userPodScheduling" (list $ $V) | fromYaml }}
{{- $tolerations := concat ($scheduling.tolerations | default list) ($pp.extraTolerations | default list) }}
{{- with $scheduling.nodeSelector }}
nodeSelector: {{ toJson . }}
{{- end }}
{{- with $scheduling.affinity }}
affinity: {{ toJson . }}
{{- end }}
{{- with $tolerations }}
tolerations: {{ toJson . }}
{{- end }}
{{- $pullImage := dict "pullSecrets" ($pp.pause.image.pullSecrets | default list) }}
{{- range $images }}{{ if .pullSecrets }}{{ $_ := set $pullImage "pullSecrets" (concat $pullImage.pullSecrets .pullSecrets) }}{{ end }}{{ end }}
{{- include "jupyterhub.imagePullSecrets" (dict "root" $ "values" $V "image" $pullImage) }}
initContainers:
  {{- range $name, $image := $images }}
  - name: {{ printf "image-pull-%s" $name | trunc 63 | trimSuffix "-" }}
    {{- if $image.raw }}
    image: {{ $image.raw | quote }}
    {{- else }}
    {{- include "jupyterhub.containerImage" $image | nindent 4 }}
    {{- end }}
    # Pulling is the point; the command only has to end.
    command: [/bin/sh, -c, echo Pulling complete]
    {{- with $pp.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "jupyterhub.containerSecurityContext" $pp.containerSecurityContext | nindent 6 }}
  {{- end }}
containers:
  - name: pause
    {{- include "jupyterhub.containerImage" $pp.pause.image | nindent 4 }}
    {{- with $pp.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "jupyterhub.containerSecurityContext" $pp.pause.containerSecurityContext | nindent 6 }}
{{- end }}

{{- /* A puller DaemonSet. (dict "root" $ "values" $V "name" <short name> "component" <component> "serviceAccountName" <name> "hook" <bool>) */}}
{{- define "jupyterhub.imagePuller.daemonset" -}}
{{- $ := .root }}{{ $V := .values }}{{ $short := .name }}{{ $component := .component }}{{ $hook := .hook }}
{{- $pp := $V.prePuller }}
{{- $podSpec := include "jupyterhub.imagePuller.podSpec" (dict "root" $ "values" $V "serviceAccountName" .serviceAccountName) | fromYaml }}
{{- if hasKey $podSpec "Error" }}{{ fail (printf "chart bug in the image puller pod spec: %s" $podSpec.Error) }}{{ end }}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  {{- include "jupyterhub.metadata" (dict "root" $ "name" $short "component" $component) | nindent 2 }}
  {{- /* As z2jh: prePuller.annotations go on the pods, daemonsetAnnotations
         of the hook or continuous puller on the DaemonSet. */}}
  {{- $own := ($hook | ternary $pp.hook $pp.continuous).daemonsetAnnotations }}
  {{- if or $hook $own }}
  annotations:
    {{- if $hook }}
    {{- include "jupyterhub.imagePuller.hookAnnotations" "-10" | nindent 4 }}
    {{- end }}
    {{- with $own }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "jupyterhub.selectorLabels" (list $ $component) | nindent 6 }}
  {{- if not (kindIs "invalid" $pp.revisionHistoryLimit) }}
  revisionHistoryLimit: {{ $pp.revisionHistoryLimit }}
  {{- end }}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 100%
  template:
    metadata:
      labels:
        {{- include "jupyterhub.labels" (list $ $component) | nindent 8 }}
        {{- with $pp.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $pp.annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- toYaml $podSpec | nindent 6 }}
{{- end }}

{{- define "jupyterhub.imagePuller.hookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
helm.sh/hook-weight: {{ . | quote }}
{{- end }}

{{- /*
"true" when the hook should run: enabled, and (with pullOnlyOnChanges) the
images differ from those the last install recorded in the hub ConfigMap.
*/}}
{{- define "jupyterhub.imagePuller.hookRuns" -}}
{{- $ := index . 0 }}{{ $V := index . 1 }}
{{- if $V.prePuller.hook.enabled }}
  {{- $checksum := include "jupyterhub.imagePuller.images" $V | sha256sum }}
  {{- $cm := lookup "v1" "ConfigMap" $.Release.Namespace (include "jupyterhub.name" (list $ "hub")) }}
  {{- $recorded := dig "data" "checksum_hook-image-puller" "" ($cm | default dict) }}
  {{- if or (not $V.prePuller.hook.pullOnlyOnChanges) (ne $recorded $checksum) }}true{{ end }}
{{- end }}
{{- end }}
