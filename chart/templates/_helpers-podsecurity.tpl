{{- /*
podSecurity.level: the Pod Security Standard level
(https://kubernetes.io/docs/concepts/security/pod-security-standards/) every
pod of the install is built to pass. Called by "jupyterhub.values" with
(list $values $root); it changes $values in place:
- singleuser.cloudMetadata.blockWithIptables unset: on only at `privileged`
  (its init container runs as root with NET_ADMIN/NET_RAW, which baseline and
  restricted refuse); elsewhere the singleuser NetworkPolicy's egress rules
  keep the metadata server out, on clusters that enforce NetworkPolicy;
- singleuser.uid 0 (root) drops the default runAsNonRoot and capability drop
  of the notebook container: an image's start script run as root (the
  docker-stacks way to grant sudo) needs CHOWN/SETUID/SETGID;
- values whose user pods the level refuses stop the render, naming the key,
  the value and what to change; so does a level below the one the release
  namespace enforces (its pod-security.kubernetes.io/enforce label, read with
  lookup: only where helm talks to the cluster) when that level would refuse
  users' pods for their iptables init container.
The chart's own pods pass restricted whatever the level.
*/}}
{{- define "jupyterhub.podSecurity.apply" -}}
{{- $v := index . 0 }}{{ $root := index . 1 }}
{{- $su := $v.singleuser }}
{{- $level := dig "level" "privileged" ($v.podSecurity | default dict) }}
{{- $rank := dict "privileged" 0 "baseline" 1 "restricted" 2 }}
{{- $blocker := $su.cloudMetadata.blockWithIptables }}
{{- if kindIs "invalid" $blocker }}
  {{- $blocker = eq $level "privileged" }}
  {{- $_ := set $su.cloudMetadata "blockWithIptables" $blocker }}
{{- end }}
{{- $csc := $su.containerSecurityContext | default dict }}
{{- $psc := $su.podSecurityContext | default dict }}
{{- $rootUid := and (not (kindIs "invalid" $su.uid)) (eq (toString $su.uid) "0") }}
{{- if $rootUid }}
  {{- $_ := unset $csc "runAsNonRoot" }}
  {{- $caps := omit ($csc.capabilities | default dict) "drop" }}
  {{- if $caps }}{{ $_ := set $csc "capabilities" $caps }}{{ else }}{{ $_ := unset $csc "capabilities" }}{{ end }}
{{- end }}
{{- $_ := set $su "containerSecurityContext" $csc }}
{{- $_ := set $su "podSecurityContext" $psc }}
{{- $lower := printf "or lower podSecurity.level (now %s)" $level }}
{{- if and (ge (int (get $rank $level)) 1) $blocker }}
  {{- fail (printf "singleuser.cloudMetadata.blockWithIptables is true, but podSecurity.level %s refuses its init container (root with NET_ADMIN and NET_RAW): remove the key (off at this level; the singleuser NetworkPolicy blocks %s where the cluster enforces NetworkPolicy) or set podSecurity.level: privileged" $level $su.cloudMetadata.ip) }}
{{- end }}
{{- if and (ge (int (get $rank $level)) 1) $csc.privileged }}
  {{- fail (printf "singleuser.containerSecurityContext.privileged is true, which podSecurity.level %s refuses: remove it, %s" $level $lower) }}
{{- end }}
{{- if eq $level "restricted" }}
  {{- if $rootUid }}
    {{- fail "singleuser.uid is 0 (root), which podSecurity.level restricted refuses: remove it (the image's user) or give a non-zero uid, or set podSecurity.level: baseline" }}
  {{- end }}
  {{- range $i, $profile := $su.profileList | default list }}
    {{- include "jupyterhub.podSecurity.profileNotRoot" (list $profile (printf "singleuser.profileList[%d]" $i)) }}
  {{- end }}
  {{- if or $su.allowPrivilegeEscalation $csc.allowPrivilegeEscalation }}
    {{- fail "singleuser.allowPrivilegeEscalation (or singleuser.containerSecurityContext.allowPrivilegeEscalation) is true, which podSecurity.level restricted refuses: set it to false, or lower podSecurity.level (now restricted)" }}
  {{- end }}
  {{- if not (or $csc.runAsNonRoot $psc.runAsNonRoot) }}
    {{- fail "singleuser.containerSecurityContext.runAsNonRoot is not true, which podSecurity.level restricted requires: set it to true (the default), or lower podSecurity.level (now restricted)" }}
  {{- end }}
  {{- $drop := dig "capabilities" "drop" list $csc }}
  {{- if not (has "ALL" $drop) }}
    {{- fail (printf "singleuser.containerSecurityContext.capabilities.drop is %s, but podSecurity.level restricted requires it to contain ALL: set it to [ALL] (the default), or lower podSecurity.level (now restricted)" (toJson $drop)) }}
  {{- end }}
  {{- range dig "capabilities" "add" list $csc }}
    {{- if ne . "NET_BIND_SERVICE" }}
      {{- fail (printf "singleuser.containerSecurityContext.capabilities.add has %s; podSecurity.level restricted allows only NET_BIND_SERVICE: remove it, or lower podSecurity.level (now restricted)" .) }}
    {{- end }}
  {{- end }}
  {{- $seccomp := dig "seccompProfile" "type" (dig "seccompProfile" "type" "" $psc) $csc }}
  {{- if not (has $seccomp (list "RuntimeDefault" "Localhost")) }}
    {{- fail (printf "singleuser.containerSecurityContext.seccompProfile.type is %q, but podSecurity.level restricted requires RuntimeDefault or Localhost: set it to RuntimeDefault (the default), or lower podSecurity.level (now restricted)" $seccomp) }}
  {{- end }}
{{- end }}
{{- /* The namespace's enforced level, where helm can read it (lookup is empty in `helm template`). */}}
{{- $ns := lookup "v1" "Namespace" "" $root.Release.Namespace }}
{{- $enforced := dig "metadata" "labels" "pod-security.kubernetes.io/enforce" "" ($ns | default dict) }}
{{- if and $blocker (hasKey $rank $enforced) (lt (int (get $rank $level)) (int (get $rank $enforced))) }}
  {{- fail (printf "namespace %s enforces Pod Security level %s (label pod-security.kubernetes.io/enforce), but podSecurity.level is %s: users' pods would be refused (their init container that blocks the cloud metadata server, singleuser.cloudMetadata.blockWithIptables, runs as root with NET_ADMIN). Set podSecurity.level: %s" $root.Release.Namespace $enforced $level $enforced) }}
{{- end }}
{{- end }}

{{- /* (list profile where): fail, at podSecurity.level restricted, when the
profile or one of its choices overrides uid to 0, with the hub's message for
it (chart/files/hub/hubconf/profiles.py, root_refusal). */}}
{{- define "jupyterhub.podSecurity.profileNotRoot" -}}
{{- $profile := index . 0 }}{{ $where := index . 1 }}
{{- if kindIs "map" $profile }}
  {{- $overrides := list (list $profile.kubespawner_override (printf "%s.kubespawner_override" $where)) }}
  {{- range $name, $option := $profile.profile_options | default dict }}
    {{- if kindIs "map" $option }}
      {{- $choices := $option.choices | default dict }}
      {{- if kindIs "map" $choices }}
        {{- range $slug, $choice := $choices }}
          {{- $overrides = append $overrides (list (dig "kubespawner_override" nil ($choice | default dict)) (printf "%s.profile_options.%s.choices.%s.kubespawner_override" $where $name $slug)) }}
        {{- end }}
      {{- else }}
        {{- range $j, $choice := $choices }}
          {{- $overrides = append $overrides (list (dig "kubespawner_override" nil ($choice | default dict)) (printf "%s.profile_options.%s.choices[%d].kubespawner_override" $where $name $j)) }}
        {{- end }}
      {{- end }}
      {{- with $option.unlisted_choice }}
        {{- $overrides = append $overrides (list .kubespawner_override (printf "%s.profile_options.%s.unlisted_choice.kubespawner_override" $where $name)) }}
      {{- end }}
    {{- end }}
  {{- end }}
  {{- range $overrides }}
    {{- $override := index . 0 }}
    {{- if and (kindIs "map" $override) (hasKey $override "uid") (not (kindIs "bool" $override.uid)) (eq (toString $override.uid) "0") }}
      {{- fail (printf "%s (profile '%s') sets uid 0 (root), which podSecurity.level restricted refuses: remove it (the image's user) or give a non-zero uid, or set podSecurity.level: baseline" (index . 1) $profile.display_name) }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
