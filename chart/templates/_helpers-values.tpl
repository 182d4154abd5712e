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
{{- include "jupyterhub.checkValues" . }}
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
{{- include "jupyterhub.podSecurity.apply" (list $v .) }}

{{- /* proxy.networkPolicy -> proxy.chp.networkPolicy */}}
{{- with $v.proxy.networkPolicy }}
  {{- $_ := set $v.proxy.chp "networkPolicy" (mergeOverwrite (deepCopy $v.proxy.chp.networkPolicy) .) }}
{{- end }}
{{- $_ := unset $v.proxy "networkPolicy" }}

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

{{- /* Seed-era slips the schema lets through (its message could not name
       the right spelling) so that they are refused here. */}}
{{- if not (kindIs "invalid" $v.storage) }}
  {{- fail "storage is not a top-level key: per-user storage is configured under singleuser.storage (e.g. singleuser.storage.capacity: 10Gi)" }}
{{- end }}
{{- if not (kindIs "invalid" $hub.auth) }}
  {{- fail "hub.auth is not read: the seed-era auth settings go at the top level (auth:, not under hub:); today's spelling is hub.config.JupyterHub.authenticator_class and hub.config.<Authenticator class>.<setting>" }}
{{- end }}
{{- with $v.auth }}{{ include "jupyterhub.authChecks" . }}{{ end }}

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

{{- /*
auth.* the hub could not translate, refused at render time: an auth.type
outside "jupyterhub.authTypes", a provider section the type does not read
(the hub would ignore it), and auth.custom keys beside className/config.
*/}}
{{- define "jupyterhub.authChecks" -}}
{{- $auth := . }}
{{- $types := include "jupyterhub.authTypes" dict | fromJson }}
{{- $choices := append (keys $types) "custom" | sortAlpha }}
{{- $type := $auth.type }}
{{- if and (not (kindIs "invalid" $type)) (not (has $type $choices)) }}
  {{- fail (printf "auth.type %q is not one of: %s. For another authenticator set hub.config.JupyterHub.authenticator_class (e.g. bitbucket, or a class such as ldapauthenticator.LDAPAuthenticator) and its settings under hub.config.<Authenticator class>" (toString $type) (join ", " $choices)) }}
{{- end }}
{{- $section := include "jupyterhub.authSection" $auth }}
{{- range $choices }}
  {{- if and (not (kindIs "invalid" (index $auth .))) (ne . $section) }}
    {{- fail (printf "auth.%s is only read with auth.type: %s (auth.type is %s): set auth.type: %s, or remove auth.%s" . . ($type | default "not set" | toString) . .) }}
  {{- end }}
{{- end }}
{{- if eq $type "custom" }}
  {{- $custom := $auth.custom | default dict }}
  {{- if not $custom.className }}
    {{- fail "auth.type custom needs auth.custom.className (the authenticator class, e.g. oauthenticator.generic.GenericOAuthenticator)" }}
  {{- end }}
  {{- $class := $custom.className | splitList "." | last }}
  {{- $oauth := hasPrefix "oauthenticator." $custom.className }}
  {{- $renamed := include "jupyterhub.oauthRenamed" dict | fromJson }}
  {{- $stray := list }}{{ $today := list }}
  {{- range $key := keys (omit $custom "className" "config") | sortAlpha }}
    {{- $stray = append $stray (printf "auth.custom.%s" $key) }}
    {{- if and $oauth (eq $key "userdata_method") }}
      {{- $today = append $today "no userdata_method (oauthenticator always fetches user data with GET)" }}
    {{- else }}
      {{- $today = append $today (printf "hub.config.%s.%s" $class ($oauth | ternary (get $renamed $key | default $key) $key)) }}
    {{- end }}
  {{- end }}
  {{- if $stray }}
    {{- fail (printf "%s: not read (older charts ignored them too): the authenticator's settings go under auth.custom.config; today's spelling: %s" (join ", " $stray) (join ", " $today)) }}
  {{- end }}
  {{- $method := dig "config" "userdata_method" "GET" $custom }}
  {{- if and $oauth (ne (upper (toString $method)) "GET") }}
    {{- fail (printf "auth.custom.config.userdata_method is %s, but oauthenticator always fetches user data with GET: remove it" (toString $method)) }}
  {{- end }}
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
