{{- /*
The user-scheduler's kube-scheduler release, chosen for the cluster.

Kubernetes' version skew policy lets kube-scheduler be the API server's
minor version or one older, never newer. So the tag follows
.Capabilities.KubeVersion (what the API server reports at install time):
the same minor when the table has it, the newest the table has for newer
clusters (within the skew for one minor; NOTES warns beyond that), and the
oldest for older ones (Chart.yaml's kubeVersion refuses those anyway).
Every tag here is a published registry.k8s.io/kube-scheduler release.
scheduling.userScheduler.image.tag, when set, wins.
*/}}
{{- define "jupyterhub.kubeSchedulerTags" -}}
{{- dict
  "28" "v1.28.15"
  "29" "v1.29.15"
  "30" "v1.30.14"
  "31" "v1.31.14"
  "32" "v1.32.9"
  "33" "v1.33.10"
  "34" "v1.34.9"
  "35" "v1.35.9"
  "36" "v1.36.1"
  "37" "v1.37.1"
  | toJson }}
{{- end }}

{{- /* The cluster's minor version as an integer ("1.33+" on some clouds). */}}
{{- define "jupyterhub.kubeMinor" -}}
{{- regexFind "^[0-9]+" (toString .Capabilities.KubeVersion.Minor) | default "0" }}
{{- end }}

{{- /*
{"tag": ..., "skew": N}: the table's tag for this cluster and how many minor
versions older than the API server it is (0 or 1 is within the policy).
*/}}
{{- define "jupyterhub.kubeSchedulerChoice" -}}
{{- $tags := include "jupyterhub.kubeSchedulerTags" . | fromJson }}
{{- $oldest := 0 }}{{ $newest := 0 }}
{{- range $minor, $_ := $tags }}
{{- if or (eq $oldest 0) (lt (int $minor) $oldest) }}{{ $oldest = int $minor }}{{ end }}
{{- if gt (int $minor) $newest }}{{ $newest = int $minor }}{{ end }}
{{- end }}
{{- $want := include "jupyterhub.kubeMinor" . | int }}
{{- $pick := max $oldest (min $want $newest) | int }}
{{- dict "tag" (get $tags (toString $pick)) "skew" (sub $want $pick) | toJson }}
{{- end }}

{{- /* The user-scheduler's image with its tag filled in. include ... (list $ $image) */}}
{{- define "jupyterhub.kubeSchedulerImage" -}}
{{- $root := index . 0 }}{{ $image := index . 1 | deepCopy }}
{{- $chosen := include "jupyterhub.kubeSchedulerChoice" $root | fromJson }}
{{- if kindIs "invalid" $image.tag }}
{{- $_ := set $image "tag" $chosen.tag }}
{{- end }}
{{- toJson $image }}
{{- end }}
