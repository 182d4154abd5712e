{{- /*
Profile images, as a list of {key, image, override}: the profile's own
kubespawner_override image, and each choice's, whose override is the choice's
merged over its profile's (as the spawner merges them: the choice wins, dicts
merge). Empty unless prePuller.pullProfileListImages.
*/}}
{{- define "jupyterhub.imagePuller.profileImages" -}}
{{- $V := . }}{{ $out := list }}
{{- if $V.prePuller.pullProfileListImages }}
  {{- range $i, $p := $V.singleuser.profileList }}
    {{- $po := $p.kubespawner_override | default dict }}
    {{- with $po.image }}
    {{- $out = append $out (dict "key" (printf "profile-%d" $i) "image" . "override" $po) }}
    {{- end }}
    {{- range $name, $option := $p.profile_options | default dict }}
      {{- range $choice, $c := $option.choices | default dict }}
        {{- $co := $c.kubespawner_override | default dict }}
        {{- with $co.image }}
        {{- $merged := include "jupyterhub.imagePuller.mergeOver" (list $po $co) | fromJson }}
        {{- $out = append $out (dict "key" (printf "profile-%d-%s-%s" $i $name $choice | lower | replace "_" "-") "image" . "override" $merged) }}
        {{- end }}
      {{- end }}
    {{- end }}
  {{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- /* (list <base> <extra>) -> JSON: extra merged over base as the spawner merges
       overrides: dicts merge at every depth, anything else (a null too) replaces. */}}
{{- define "jupyterhub.imagePuller.mergeOver" -}}
{{- $merged := deepCopy (index . 0) }}
{{- range $k, $v := index . 1 }}
  {{- if and (kindIs "map" $v) (kindIs "map" (get $merged $k)) }}
  {{- $_ := set $merged $k (include "jupyterhub.imagePuller.mergeOver" (list (get $merged $k) $v) | fromJson) }}
  {{- else }}
  {{- $_ := set $merged $k $v }}
  {{- end }}
{{- end }}
{{- toJson $merged }}
{{- end }}

{{- /*
The scheduling a user pod gets from a profile override (list $V <override>),
as YAML {nodeSelector, affinity, tolerations}, or "" when the override sets
none of it. As the spawner applies it: node_selector merges into
singleuser.nodeSelector (null drops a key); tolerations and
node_affinity_required replace the user pods' (a dict form gives its values
in key order); extra_pod_config's nodeSelector merges, its tolerations and
required node affinity replace. Only the required constraints decide where a
pod may run, so only they are kept.
*/}}
{{- define "jupyterhub.imagePuller.profileScheduling" -}}
{{- $V := index . 0 }}{{ $o := index . 1 }}
{{- $epc := $o.extra_pod_config | default dict }}
{{- $epcNodeSelector := get $epc "nodeSelector" | default (get $epc "node_selector") }}
{{- $epcAffinity := get $epc "affinity" | default dict }}
{{- $epcRequired := dig "nodeAffinity" "requiredDuringSchedulingIgnoredDuringExecution" "nodeSelectorTerms" nil $epcAffinity }}
{{- if or (hasKey $o "node_selector") (hasKey $o "tolerations") (hasKey $o "node_affinity_required") $epcNodeSelector (hasKey $epc "tolerations") $epcRequired }}
  {{- $base := include "jupyterhub.userPodScheduling" (list nil $V) | fromYaml }}
  {{- $nodeSelector := deepCopy ($base.nodeSelector | default dict) }}
  {{- range $selector := list ($o.node_selector | default dict) ($epcNodeSelector | default dict) }}
    {{- range $k, $v := $selector }}
      {{- if kindIs "invalid" $v }}{{ $_ := unset $nodeSelector $k }}{{ else }}{{ $_ := set $nodeSelector $k $v }}{{ end }}
    {{- end }}
  {{- end }}
  {{- $tolerations := $base.tolerations | default list }}
  {{- if hasKey $epc "tolerations" }}
    {{- $tolerations = $epc.tolerations | default list }}
  {{- else if hasKey $o "tolerations" }}
    {{- $tolerations = include "jupyterhub.imagePuller.listTrait" $o.tolerations | fromJsonArray }}
  {{- end }}
  {{- $required := dig "nodeAffinity" "requiredDuringSchedulingIgnoredDuringExecution" "nodeSelectorTerms" list ($base.affinity | default dict) }}
  {{- if $epcRequired }}
    {{- $required = $epcRequired }}
  {{- else if hasKey $o "node_affinity_required" }}
    {{- $required = include "jupyterhub.imagePuller.listTrait" $o.node_affinity_required | fromJsonArray }}
  {{- end }}
  {{- with $nodeSelector }}
nodeSelector: {{ toJson . }}
  {{- end }}
  {{- with $required }}
affinity: {{ toJson (dict "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" .))) }}
  {{- end }}
  {{- with $tolerations }}
tolerations: {{ toJson . }}
  {{- end }}
  {{- if not (or $nodeSelector $required $tolerations) }}
{}
  {{- end }}
{{- end }}
{{- end }}

{{- /* A list trait's items as JSON: a dict gives its values in key order (as the spawner). */}}
{{- define "jupyterhub.imagePuller.listTrait" -}}
{{- if kindIs "map" . }}
  {{- $items := list }}
  {{- range $k := keys . | sortAlpha }}{{ $items = append $items (get $ $k) }}{{ end }}
  {{- toJson $items }}
{{- else }}
  {{- toJson (. | default list) }}
{{- end }}
{{- end }}

{{- /*
The images the default pullers pull, as a YAML mapping name -> image mapping:
the single-user image, the network-tools image (when it blocks the metadata
server), images of user init/extra containers, profile images whose profile
sets no scheduling of its own, and prePuller.extraImages.
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
{{- range include "jupyterhub.imagePuller.profileImages" $V | fromJsonArray }}
  {{- if not (include "jupyterhub.imagePuller.profileScheduling" (list $V .override)) }}
  {{- $_ := set $images .key (dict "raw" .image) }}
  {{- end }}
{{- end }}
{{- range $name, $image := $V.prePuller.extraImages }}
  {{- $_ := set $images (printf "extra-%s" $name) $image }}
{{- end }}
{{- toYaml $images }}
{{- end }}

{{- /*
The profile pullers: one per distinct scheduling of profiles that set their
own, as a YAML mapping <suffix> -> {images, scheduling}. The suffix is a hash
of the scheduling, so two profiles for the same nodes share a puller, and the
name changes only when the nodes it is for change (not on an image, profile
name or order change). "" without such profiles.
*/}}
{{- define "jupyterhub.imagePuller.profileGroups" -}}
{{- $V := . }}{{ $groups := dict }}
{{- range $entry := include "jupyterhub.imagePuller.profileImages" $V | fromJsonArray }}
  {{- with include "jupyterhub.imagePuller.profileScheduling" (list $V $entry.override) }}
    {{- $scheduling := fromYaml . }}
    {{- $suffix := toJson $scheduling | sha256sum | trunc 8 }}
    {{- $group := get $groups $suffix | default (dict "scheduling" $scheduling "images" dict) }}
    {{- $pulled := list }}{{ range $group.images }}{{ $pulled = append $pulled .raw }}{{ end }}
    {{- if not (has $entry.image $pulled) }}
    {{- $_ := set $group.images $entry.key (dict "raw" $entry.image) }}
    {{- end }}
    {{- $_ := set $groups $suffix $group }}
  {{- end }}
{{- end }}
{{- with $groups }}{{ toYaml . }}{{ end }}
{{- end }}

{{- /* The pullers' DaemonSets by short name, as JSON: {"hook": [...], "continuous": [...]} (list $ $V). */}}
{{- define "jupyterhub.imagePuller.groupNames" -}}
{{- $ := index . 0 }}{{ $V := index . 1 }}
{{- $out := dict "hook" (list) "continuous" (list) }}
{{- range $suffix, $_ := include "jupyterhub.imagePuller.profileGroups" $V | fromYaml }}
  {{- range $kind := list "hook" "continuous" }}
  {{- $_ := set $out $kind (append (get $out $kind) (include "jupyterhub.imagePuller.groupName" (dict "root" $ "short" (printf "%s-image-puller" $kind) "suffix" $suffix))) }}
  {{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- /* A profile puller's rendered name: <default puller's name>-<suffix>, cut to 63. (dict "root" $ "short" <short> "suffix" <suffix>) */}}
{{- define "jupyterhub.imagePuller.groupName" -}}
{{- $base := include "jupyterhub.name" (list .root .short) }}
{{- printf "%s-%s" ($base | trunc 54 | trimSuffix "-") .suffix }}
{{- end }}

{{- /* What the hook's pullOnlyOnChanges compares: the images and their grouping. */}}
{{- define "jupyterhub.imagePuller.checksum" -}}
{{- printf "%s%s" (include "jupyterhub.imagePuller.images" .) (include "jupyterhub.imagePuller.profileGroups" .) | sha256sum }}
{{- end }}

{{- /* The puller pod spec: one init container per image, then pause. (dict "root" $ "values" $V "serviceAccountName" <name> ["group" <a profile group>]);
       without a group, the default pullers' images on the user pods' nodes. */}}
{{- define "jupyterhub.imagePuller.podSpec" -}}
{{- $ := .root }}{{ $V := .values }}{{ $sa := .serviceAccountName }}
{{- $pp := $V.prePuller }}
{{- $group := .group | default dict }}
{{- $images := $group.images | default (include "jupyterhub.imagePuller.images" $V | fromYaml) }}
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
{{- $scheduling := $group.scheduling | default (include "jupyterhub.userPodScheduling" (list $ $V) | fromYaml) }}
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

{{- /* A puller DaemonSet. (dict "root" $ "values" $V "name" <short name> "component" <component> "serviceAccountName" <name> "hook" <bool> ["group" <profile group>]) */}}
{{- define "jupyterhub.imagePuller.daemonset" -}}
{{- $ := .root }}{{ $V := .values }}{{ $short := .name }}{{ $component := .component }}{{ $hook := .hook }}
{{- $pp := $V.prePuller }}
{{- $podSpec := include "jupyterhub.imagePuller.podSpec" (dict "root" $ "values" $V "serviceAccountName" .serviceAccountName "group" .group) | fromYaml }}
{{- if hasKey $podSpec "Error" }}{{ fail (printf "chart bug in the image puller pod spec: %s" $podSpec.Error) }}{{ end }}
{{- $meta := include "jupyterhub.metadata" (dict "root" $ "name" $short "component" $component) }}
{{- with .suffix }}
  {{- /* A profile puller: its own name and component, so no two pullers' selectors overlap. */}}
  {{- $component = printf "%s-%s" $short . }}
  {{- $m := include "jupyterhub.metadata" (dict "root" $ "name" $short "component" $component) | fromYaml }}
  {{- $_ := set $m "name" (include "jupyterhub.imagePuller.groupName" (dict "root" $ "short" $short "suffix" .)) }}
  {{- $meta = toYaml $m }}
{{- end }}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  {{- $meta | nindent 2 }}
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
  {{- $checksum := include "jupyterhub.imagePuller.checksum" $V }}
  {{- $cm := lookup "v1" "ConfigMap" $.Release.Namespace (include "jupyterhub.name" (list $ "hub")) }}
  {{- $recorded := dig "data" "checksum_hook-image-puller" "" ($cm | default dict) }}
  {{- if or (not $V.prePuller.hook.pullOnlyOnChanges) (ne $recorded $checksum) }}true{{ end }}
{{- end }}
{{- end }}
