{{- /*
The effective values: .Values with the seed-era keys translated to today's
spelling (the renames from "jupyterhub.legacy.apply", the rest here).
Every template reads these instead of .Values:
  {{- include "jupyterhub.loadValues" . }}{{- $V := get . "_jupyterhubValues" }}
The translation is pure (a deep copy of .Values), so its result does not
depend on which template Helm renders first. "jupyterhub.legacyWarnings"
reports each translated key in NOTES.txt; keys that cannot be translated
safely are refused here with `fail`.
*/}}
{{- define "jupyterhub.values" -}}
{{- include "jupyterhub.checkValues" . }}
{{- $v := deepCopy .Values }}
{{- include "jupyterhub.legacy.apply" (dict "values" $v "root" .) }}
{{- include "jupyterhub.legacy.applyCode" $v }}
{{- $hub := $v.hub }}
{{- $su := $v.singleuser }}

{{- if kindIs "invalid" $hub.extraConfig }}{{ $_ := set $hub "extraConfig" dict }}{{ end }}
{{- if kindIs "invalid" $hub.extraEnv }}{{ $_ := set $hub "extraEnv" dict }}{{ end }}


{{- include "jupyterhub.podSecurity.apply" (list $v .) }}

{{- /* proxy.https.enabled unset: the seed-era rule (hosts + a way to get a
       certificate turn HTTPS on). A half-done seed-era HTTPS setup (hosts
       without a contact e-mail, a manual key without its certificate...) is
       refused like an explicit `enabled: true` one, not left on plain HTTP. */}}
{{- $https := $v.proxy.https }}
{{- /* type "" or null (z2jh's schema allows both) matches no way of
       serving HTTPS: z2jh then serves plain HTTP, and so do we. */}}
{{- if not $https.type }}
  {{- $_ := set $https "enabled" false }}
  {{- $_ := set $https "type" "letsencrypt" }}
{{- end }}
{{- $impliedBy := "" }}
{{- if kindIs "invalid" $https.enabled }}
  {{- $impliedBy = include "jupyterhub.https.attemptedBy" $https }}
  {{- $_ := set $https "enabled" (or (eq (include "jupyterhub.https.impliedOn" $https) "true") (ne $impliedBy "")) }}
{{- end }}
{{- if $https.enabled }}
  {{- $why := "" }}
  {{- if $impliedBy }}
    {{- $why = printf "; proxy.https.%s without proxy.https.enabled turns HTTPS on, as in older charts (set proxy.https.enabled: false for plain HTTP)" $impliedBy }}
  {{- end }}
  {{- if and (eq $https.type "letsencrypt") (not $https.letsencrypt.contactEmail) }}
    {{- fail (print "proxy.https.type letsencrypt needs proxy.https.letsencrypt.contactEmail (an e-mail address for expiry notices)" $why) }}
  {{- end }}
  {{- if and (eq $https.type "letsencrypt") (not $https.hosts) }}
    {{- fail (print "proxy.https.type letsencrypt needs proxy.https.hosts (the domain names to get certificates for)" $why) }}
  {{- end }}
  {{- if and (eq $https.type "manual") (not $https.manual.key) }}
    {{- fail (print "proxy.https.type manual needs proxy.https.manual.key and proxy.https.manual.cert (PEM text); proxy.https.manual.key is missing" $why) }}
  {{- end }}
  {{- if and (eq $https.type "manual") (not $https.manual.cert) }}
    {{- fail (print "proxy.https.type manual needs proxy.https.manual.key and proxy.https.manual.cert (PEM text); proxy.https.manual.cert is missing" $why) }}
  {{- end }}
  {{- if and (eq $https.type "secret") (not $https.secret.name) }}
    {{- fail (print "proxy.https.type secret needs proxy.https.secret.name (an existing TLS Secret)" $why) }}
  {{- end }}
{{- end }}

{{- include "jupyterhub.legacy.refusals" (dict "values" $v "root" .) }}

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
{{- if and $v.httpRoute.enabled (not $v.httpRoute.gateway.name) (not $v.httpRoute.parentRefs) }}
  {{- fail "httpRoute.enabled needs httpRoute.gateway.name (the Gateway to attach to) or httpRoute.parentRefs" }}
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

{{- /* The first proxy.https key that shows a seed-era config means to turn
       HTTPS on without proxy.https.enabled ("" if none). */}}
{{- define "jupyterhub.https.attemptedBy" -}}
{{- $h := . }}
{{- if $h.hosts }}hosts
{{- else if $h.letsencrypt.contactEmail }}letsencrypt.contactEmail
{{- else if $h.manual.key }}manual.key
{{- else if $h.manual.cert }}manual.cert
{{- else if $h.secret.name }}secret.name
{{- else if ne $h.type "letsencrypt" }}type
{{- end }}
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
