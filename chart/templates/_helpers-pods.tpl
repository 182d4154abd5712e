{{- /* Pieces of pod specs shared by the chart's workloads. */}}

{{- /* "name:tag" (or "name@sha256:..." for a digest) of an image mapping. */}}
{{- define "jupyterhub.image" -}}
{{- $tag := toString .tag }}
{{- if hasPrefix "sha256:" $tag }}{{ .name }}@{{ $tag }}{{ else }}{{ .name }}:{{ $tag }}{{ end }}
{{- end }}

{{- /* image + imagePullPolicy lines of a container. */}}
{{- define "jupyterhub.containerImage" -}}
image: {{ include "jupyterhub.image" . | quote }}
{{- with .pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{- /*
imagePullSecrets of a pod: the chart-made Secret (when injected), the global
list, and the image's own. include "jupyterhub.imagePullSecrets" (dict "root" $ "values" $V "image" $image)
*/}}
{{- define "jupyterhub.imagePullSecrets" -}}
{{- $root := .root }}{{ $V := .values }}{{ $image := .image }}
{{- $names := list }}
{{- if and $V.imagePullSecret.create $V.imagePullSecret.automaticReferenceInjection }}
  {{- $names = append $names (include "jupyterhub.name" (list $root "image-pull-secret")) }}
{{- end }}
{{- range concat ($V.imagePullSecrets | default list) (($image | default dict).pullSecrets | default list) }}
  {{- $names = append $names (kindIs "map" . | ternary (get (kindIs "map" . | ternary . dict) "name") .) }}
{{- end }}
{{- with $names | uniq }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{- /* extraEnv (a mapping or a list) as a list of EnvVar. */}}
{{- define "jupyterhub.extraEnv" -}}
{{- if kindIs "slice" . }}
{{- range . }}
- {{ toJson . }}
{{- end }}
{{- else }}
{{- range $name, $value := . }}
{{- if kindIs "map" $value }}
{{- /* an entry's own `name` wins over its key, as in z2jh */}}
- {{ merge (deepCopy $value) (dict "name" $name) | toJson }}
{{- else }}
- name: {{ $name | quote }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- /*
Node affinity for chart pods (corePods) or user placeholders (userPods),
from matchNodePurpose. include "jupyterhub.nodePurposeAffinity" (list "core" $V.scheduling.corePods)
*/}}
{{- define "jupyterhub.nodePurposeAffinity" -}}
{{- $purpose := index . 0 }}{{ $cfg := index . 1 }}
{{- $expr := dict "key" "hub.jupyter.org/node-purpose" "operator" "In" "values" (list $purpose) }}
{{- if eq $cfg.nodeAffinity.matchNodePurpose "require" }}
nodeAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    nodeSelectorTerms:
      - matchExpressions:
          - {{ toJson $expr }}
{{- else if eq $cfg.nodeAffinity.matchNodePurpose "prefer" }}
nodeAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      preference:
        matchExpressions:
          - {{ toJson $expr }}
{{- end }}
{{- end }}

{{- /*
The scheduling block of a chart ("core") pod: nodeSelector, affinity,
tolerations, priority. include "jupyterhub.corePodScheduling" (dict "root" $ "values" $V "pod" $component)
where $component has nodeSelector/tolerations.
*/}}
{{- define "jupyterhub.corePodScheduling" -}}
{{- $root := .root }}{{ $V := .values }}{{ $c := .pod }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "jupyterhub.nodePurposeAffinity" (list "core" $V.scheduling.corePods) | trim }}
affinity:
  {{- . | nindent 2 }}
{{- end }}
{{- with concat ($V.scheduling.corePods.tolerations | default list) ($c.tolerations | default list) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $V.scheduling.podPriority.enabled }}
priorityClassName: {{ include "jupyterhub.name" (list $root "default-priority") }}
{{- end }}
{{- end }}

{{- /*
Writable /tmp for containers with a read-only root filesystem.
*/}}
{{- define "jupyterhub.tmpVolume" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end }}

{{- /* The default pod securityContext of chart pods that set none. */}}
{{- define "jupyterhub.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- /*
A container securityContext: the user's, with seccomp RuntimeDefault added
(checkov and the restricted Pod Security Standard want it on containers too).
*/}}
{{- define "jupyterhub.containerSecurityContext" -}}
{{- $sc := deepCopy (. | default dict) }}
{{- if not (hasKey $sc "seccompProfile") }}
  {{- $_ := set $sc "seccompProfile" (dict "type" "RuntimeDefault") }}
{{- end }}
{{- toYaml $sc }}
{{- end }}

{{- /* A probe from the chart's probe values. (dict "probe" <values> "path" <path> "port" <port> ["scheme" <scheme>]) */}}
{{- define "jupyterhub.httpProbe" -}}
{{- $p := .probe -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  {{- if .scheme }}
  scheme: {{ .scheme }}
  {{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
periodSeconds: {{ $p.periodSeconds }}
failureThreshold: {{ $p.failureThreshold }}
timeoutSeconds: {{ $p.timeoutSeconds }}
{{- end }}

{{- /* The rest of a pod spec from extraPodSpec, merged last. */}}
{{- define "jupyterhub.extraPodSpec" -}}
{{- with . }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{- /*
Scheduling of pods that stand in for user pods (placeholders, image
pullers): where user pods go. (list $ $V)
*/}}
{{- define "jupyterhub.userPodScheduling" -}}
{{- $root := index . 0 }}{{ $V := index . 1 }}{{ $su := $V.singleuser }}
{{- with $su.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $affinity := include "jupyterhub.nodePurposeAffinity" (list "user" $V.scheduling.userPods) | fromYaml }}
{{- $na := $affinity.nodeAffinity | default dict }}
{{- with $su.extraNodeAffinity.required }}
  {{- /* Terms are ORed: the node-purpose requirement goes into each. */}}
  {{- $purpose := list }}
  {{- with $na.requiredDuringSchedulingIgnoredDuringExecution }}
    {{- $purpose = (first .nodeSelectorTerms).matchExpressions }}
  {{- end }}
  {{- $terms := list }}
  {{- range . }}
    {{- $terms = append $terms (merge (dict "matchExpressions" (concat (.matchExpressions | default list) $purpose)) .) }}
  {{- end }}
  {{- $_ := set $na "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" $terms) }}
{{- end }}
{{- with $su.extraNodeAffinity.preferred }}
  {{- $_ := set $na "preferredDuringSchedulingIgnoredDuringExecution" (concat ($na.preferredDuringSchedulingIgnoredDuringExecution | default list) .) }}
{{- end }}
{{- if $na }}
affinity:
  nodeAffinity:
    {{- toYaml $na | nindent 4 }}
{{- end }}
{{- with concat ($V.scheduling.userPods.tolerations | default list) ($su.extraTolerations | default list) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
