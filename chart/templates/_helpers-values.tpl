{{- /*
The effective values: .Values with the seed-era keys translated to today's
spelling. Every template reads these instead of .Values:
  {{- include "jupyterhub.loadValues" . }}{{- $V := get . "_jupyterhubValues" }}
The translation is pure (a deep copy of .Values), so its result does not
depend on which template Helm renders first. "jupyterhub.legacyWarnings"
reports each translated key in NOTES.txt; keys that cannot be translated
safely are refused here with `fail`.
*/}}
{{- define "jupyterhub.values" -}}
{{- $v := deepCopy .Values }}
{{- $hub := $v.hub }}

{{- if kindIs "invalid" $hub.extraConfig }}{{ $_ := set $hub "extraConfig" dict }}{{ end }}
{{- if kindIs "invalid" $hub.extraEnv }}{{ $_ := set $hub "extraEnv" dict }}{{ end }}

{{- /* hub.extraConfig as one string -> a one-entry mapping. */}}
{{- if kindIs "string" $hub.extraConfig }}
  {{- $_ := set $hub "extraConfig" (dict "legacy-extraConfig" $hub.extraConfig) }}
{{- end }}

{{- /* hub.extraConfigMap -> custom (z2jh.get_config("custom.<key>")). */}}
{{- if $hub.extraConfigMap }}
  {{- $_ := set $v "custom" (merge ($v.custom | default dict) $hub.extraConfigMap) }}
{{- end }}
{{- $_ := unset $hub "extraConfigMap" }}

{{- /* hub.imagePullPolicy -> hub.image.pullPolicy */}}
{{- if and $hub.imagePullPolicy (not $hub.image.pullPolicy) }}
  {{- $_ := set $hub.image "pullPolicy" $hub.imagePullPolicy }}
{{- end }}
{{- $_ := unset $hub "imagePullPolicy" }}

{{- /* hub.uid / hub.fsGid -> security contexts */}}
{{- if not (kindIs "invalid" $hub.uid) }}
  {{- $csc := $hub.containerSecurityContext | default dict }}
  {{- $_ := set $csc "runAsUser" $hub.uid }}
  {{- $_ := set $hub "containerSecurityContext" $csc }}
{{- end }}
{{- $_ := unset $hub "uid" }}
{{- if not (kindIs "invalid" $hub.fsGid) }}
  {{- $psc := $hub.podSecurityContext | default dict }}
  {{- $_ := set $psc "fsGroup" $hub.fsGid }}
  {{- $_ := set $hub "podSecurityContext" $psc }}
{{- end }}
{{- $_ := unset $hub "fsGid" }}

{{- /* rbac.enabled -> rbac.create (false wins) */}}
{{- if not (kindIs "invalid" $v.rbac.enabled) }}
  {{- $_ := set $v.rbac "create" (and $v.rbac.create $v.rbac.enabled) }}
{{- end }}
{{- $_ := unset $v.rbac "enabled" }}

{{- /* singleuser.schedulerStrategy -> scheduling.userScheduler.enabled */}}
{{- $su := $v.singleuser }}
{{- if $su.schedulerStrategy }}
  {{- $_ := set $v.scheduling.userScheduler "enabled" (eq $su.schedulerStrategy "pack") }}
{{- end }}
{{- $_ := unset $su "schedulerStrategy" }}

{{- /* singleuser.cloudMetadata.enabled -> blockWithIptables + network policy */}}
{{- if not (kindIs "invalid" $su.cloudMetadata.enabled) }}
  {{- $_ := set $su.cloudMetadata "blockWithIptables" (not $su.cloudMetadata.enabled) }}
  {{- if $su.cloudMetadata.enabled }}
    {{- $_ := set $su.networkPolicy.egressAllowRules "cloudMetadataServer" true }}
  {{- end }}
{{- end }}
{{- $_ := unset $su.cloudMetadata "enabled" }}

{{- /* proxy.networkPolicy -> proxy.chp.networkPolicy */}}
{{- with $v.proxy.networkPolicy }}
  {{- $_ := set $v.proxy.chp "networkPolicy" (mergeOverwrite (deepCopy $v.proxy.chp.networkPolicy) .) }}
{{- end }}
{{- $_ := unset $v.proxy "networkPolicy" }}

{{- /* proxy.https.enabled unset: the seed-era rule (hosts + a way to get a
       certificate turn HTTPS on). */}}
{{- $https := $v.proxy.https }}
{{- if kindIs "invalid" $https.enabled }}
  {{- $_ := set $https "enabled" (eq (include "jupyterhub.https.impliedOn" $https) "true") }}
{{- end }}
{{- if $https.enabled }}
  {{- if and (eq $https.type "letsencrypt") (not $https.letsencrypt.contactEmail) }}
    {{- fail "proxy.https.type letsencrypt needs proxy.https.letsencrypt.contactEmail (an e-mail address for expiry notices)" }}
  {{- end }}
  {{- if and (eq $https.type "letsencrypt") (not $https.hosts) }}
    {{- fail "proxy.https.type letsencrypt needs proxy.https.hosts (the domain names to get certificates for)" }}
  {{- end }}
  {{- if and (eq $https.type "manual") (not (and $https.manual.key $https.manual.cert)) }}
    {{- fail "proxy.https.type manual needs proxy.https.manual.key and proxy.https.manual.cert (PEM text)" }}
  {{- end }}
  {{- if and (eq $https.type "secret") (not $https.secret.name) }}
    {{- fail "proxy.https.type secret needs proxy.https.secret.name (an existing TLS Secret)" }}
  {{- end }}
{{- end }}

{{- /* Checks that are not about legacy keys but would fail late otherwise. */}}
{{- if and (has $hub.db.type (list "mysql" "postgres" "other")) (not $hub.db.url) }}
  {{- fail (printf "hub.db.type %s needs hub.db.url (an SQLAlchemy URL such as postgresql+psycopg2://user@host:5432/db)" $hub.db.type) }}
{{- end }}
{{- if and (eq $su.storage.type "static") (not $su.storage.static.pvcName) }}
  {{- fail "singleuser.storage.type static needs singleuser.storage.static.pvcName (the shared PersistentVolumeClaim)" }}
{{- end }}
{{- if and $v.imagePullSecret.create (not (and $v.imagePullSecret.username $v.imagePullSecret.password)) }}
  {{- fail "imagePullSecret.create needs imagePullSecret.username and imagePullSecret.password" }}
{{- end }}
{{- if and $v.httpRoute.enabled (not $v.httpRoute.gateway.name) }}
  {{- fail "httpRoute.enabled needs httpRoute.gateway.name (the Gateway to attach to)" }}
{{- end }}
{{- /* Helm 3 deletes keys a user sets to null, Helm 4 keeps them as null:
       dropping nulls gives both the same values. */}}
{{- include "jupyterhub.dropNulls" $v }}
{{- end }}

{{- /* A mapping without its null values, recursively, as JSON. */}}
{{- define "jupyterhub.dropNulls" -}}
{{- $out := dict }}
{{- range $k, $v := . }}
  {{- if kindIs "map" $v }}
    {{- $_ := set $out $k (include "jupyterhub.dropNulls" $v | fromJson) }}
  {{- else if not (kindIs "invalid" $v) }}
    {{- $_ := set $out $k $v }}
  {{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- /* "true" when a seed-era config turns HTTPS on without proxy.https.enabled. */}}
{{- define "jupyterhub.https.impliedOn" -}}
{{- $h := . }}
{{- if and (eq $h.type "letsencrypt") $h.hosts $h.letsencrypt.contactEmail }}true
{{- else if and (eq $h.type "manual") $h.manual.key $h.manual.cert }}true
{{- else if and (eq $h.type "secret") $h.secret.name }}true
{{- else if eq $h.type "offload" }}true
{{- else }}false
{{- end }}
{{- end }}

{{- /* How HTTPS is served: "" (off), "traefik", "chp" (chp terminates TLS) or "offload". */}}
{{- define "jupyterhub.https.mode" -}}
{{- $h := .proxy.https }}
{{- if $h.enabled }}
{{- if eq $h.type "letsencrypt" }}traefik
{{- else if or (eq $h.type "manual") (eq $h.type "secret") }}chp
{{- else }}offload
{{- end }}
{{- end }}
{{- end }}

{{- /* The TLS Secret chp serves with "chp" mode: name, key, crt. */}}
{{- define "jupyterhub.https.chpSecret" -}}
{{- $root := index . 0 }}{{ $h := (index . 1).proxy.https }}
{{- if eq $h.type "manual" -}}
{name: {{ include "jupyterhub.name" (list $root "proxy-public-manual-tls") }}, key: tls.key, crt: tls.crt}
{{- else -}}
{name: {{ $h.secret.name }}, key: {{ $h.secret.key }}, crt: {{ $h.secret.crt }}}
{{- end }}
{{- end }}

{{- /* Environment variable prefix Kubernetes uses for a Service name. */}}
{{- define "jupyterhub.serviceEnv" -}}
{{- . | upper | replace "-" "_" }}
{{- end }}

{{- /*
The effective values, computed once per render: the first template to ask
stores them in the render context, later ones reuse them. (If Helm ever
gave each template its own context, each would just compute them again.)
Templates must not modify the result (deepCopy it first). Usage:
  {{- include "jupyterhub.loadValues" . }}{{- $V := get . "_jupyterhubValues" }}
*/}}
{{- define "jupyterhub.loadValues" -}}
{{- if not (hasKey . "_jupyterhubValues") }}
  {{- $_ := set . "_jupyterhubValues" (include "jupyterhub.values" . | fromJson) }}
{{- end }}
{{- end }}
