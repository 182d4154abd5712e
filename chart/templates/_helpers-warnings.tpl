{{- /*
One line per seed-era key in use, saying what to write instead. Computed
from .Values as the user gave them (before "jupyterhub.values" translates).
*/}}
{{- define "jupyterhub.legacyWarnings" -}}
{{- $v := .Values }}
{{- if kindIs "string" $v.hub.extraConfig }}
- hub.extraConfig is a string; write it as a mapping of named snippets:
    hub:
      extraConfig:
        myConfig: |
          <your code>
{{- end }}
{{- include "jupyterhub.legacy.warnings" . }}
{{- $https := $v.proxy.https }}
{{- if and (kindIs "invalid" $https.enabled) (eq (include "jupyterhub.https.impliedOn" $https) "true") }}
- proxy.https is configured without proxy.https.enabled; HTTPS ({{ $https.type }}) is on,
  as older charts did: write proxy.https.enabled: true
{{- end }}
{{- range $path, $image := dict "hub.image" $v.hub.image "singleuser.image" $v.singleuser.image }}
{{- if not (kindIs "string" $image.tag) }}
- {{ $path }}.tag is a number ({{ $image.tag }}); quote it: numbers lose trailing zeros (16.10 -> 16.1)
{{- end }}
{{- end }}
{{- range $name, $image := $v.prePuller.extraImages }}
{{- if not (kindIs "string" $image.tag) }}
- prePuller.extraImages.{{ $name }}.tag is a number ({{ $image.tag }}); quote it: numbers lose trailing zeros (16.10 -> 16.1)
{{- end }}
{{- end }}
{{- with $v.auth }}
{{- include "jupyterhub.legacyAuthWarnings" (dict "auth" . "tables" (include "jupyterhub.legacy.table" $ | fromJson).auth) }}
{{- end }}
{{- end }}

{{- /* The section of auth.* that holds the authenticator's settings: auth.<type>,
       or auth.github for the seed guide's CILogon example. */}}
{{- define "jupyterhub.authSection" -}}
{{- $type := .type | default "" }}
{{- if and (eq $type "cilogon") (kindIs "invalid" .cilogon) (not (kindIs "invalid" .github)) }}github
{{- else }}{{ $type }}
{{- end }}
{{- end }}

{{- /* One line per auth.* key, saying what the hub makes of it (the same
       translation as legacy_auth_config in jupyterhub_config.py, from the
       same auth tables): (dict "auth" $auth "tables" <the tables>). Values
       it refuses never get here: "jupyterhub.authChecks" fails first. */}}
{{- define "jupyterhub.legacyAuthWarnings" -}}
{{- $auth := .auth }}
{{- $types := .tables.types }}
{{- $keys := .tables.keys }}
{{- $type := $auth.type | default "" }}
{{- $className := "" }}
{{- if eq $type "custom" }}{{ $className = dig "custom" "className" "" $auth }}
{{- else if hasKey $types $type }}{{ $className = index (get $types $type) 1 }}
{{- end }}
{{- $class := $className | splitList "." | last }}
{{- $section := include "jupyterhub.authSection" $auth }}
{{- if eq $type "custom" }}
- auth.type custom is deprecated; write hub.config.JupyterHub.authenticator_class: {{ $className }}
{{- else if $type }}
- auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: {{ index (get $types $type) 0 }}
{{- end }}
{{- $restricted := false }}
{{- if and $section (ne $type "custom") }}
  {{- range $key, $_ := index $auth $section }}
    {{- $trait := get $keys $key }}
    {{- if hasPrefix "allowed_" $trait }}{{ $restricted = true }}{{ end }}
- auth.{{ $section }}.{{ $key }} is deprecated; write hub.config.{{ $class }}.{{ $trait }}{{ if eq $trait "hosted_domain" }} (a list){{ end }}
  {{- end }}
{{- end }}
{{- if and $type (not (has $type (list "dummy" "custom"))) (not $restricted) (not (dig "whitelist" "users" list $auth)) }}
- auth.type {{ $type }} with no auth.whitelist.users (nor an allowed list) lets every account of
  the provider log in, as older charts did; today that is hub.config.{{ $class }}.allow_all: true
{{- end }}
{{- if eq $type "custom" }}
  {{- $oauth := hasPrefix "oauthenticator." $className }}
  {{- $renamed := .tables.oauthRenamed }}
  {{- range $key, $_ := dig "custom" "config" dict $auth }}
    {{- if and $oauth (eq $key "userdata_method") }}
- auth.custom.config.userdata_method is no longer a setting (oauthenticator always fetches user data with GET); remove it
    {{- else }}
- auth.custom.config.{{ $key }} is deprecated; write hub.config.{{ $class }}.{{ $oauth | ternary (get $renamed $key | default $key) $key }}
    {{- end }}
  {{- end }}
{{- end }}
{{- with $auth.scopes }}
- auth.scopes is deprecated; write hub.config.OAuthenticator.scope
{{- end }}
{{- with dig "whitelist" "users" nil $auth }}
- auth.whitelist.users is deprecated; write hub.config.Authenticator.allowed_users
{{- end }}
{{- with dig "admin" "users" nil $auth }}
- auth.admin.users is deprecated; write hub.config.Authenticator.admin_users
{{- end }}
{{- $access := dig "admin" "access" nil $auth }}
{{- if not (kindIs "invalid" $access) }}
- auth.admin.access is deprecated; write hub.config.JupyterHub.admin_access: {{ $access }}
  {{- if not $access }}
  (auth.admin.access: false no longer restricts admins: JupyterHub's admin role can always reach
  users' servers; define a narrower role in hub.loadRoles instead)
  {{- end }}
{{- end }}
{{- if not (kindIs "invalid" (dig "state" "enabled" nil $auth)) }}
- auth.state.enabled is deprecated; write hub.config.Authenticator.enable_auth_state: {{ dig "state" "enabled" nil $auth }}
{{- end }}
{{- with dig "state" "cryptoKey" nil $auth }}
- auth.state.cryptoKey is deprecated; write hub.config.CryptKeeper.keys: [<the key>]
  (it encrypts; keys used before are kept after it, to read older auth state)
{{- end }}
{{- end }}
